import { type FormEvent, useState } from "react";
import { Dialog } from "../../components/Dialog";
import { EmptyState, Loading } from "../../components/Loading";
import { ProblemMessage } from "../../components/ProblemMessage";
import { useDocumentTitle } from "../../lib/title";
import { useMe } from "../auth/api";
import { ActionsEditor } from "../automation/ActionsEditor";
import { type ActionDraft, MACRO_ACTIONS, actionFromApi, actionsToApi } from "../automation/model";
import { useTeams } from "../teams/api";
import { useStaff } from "../users/api";
import styles from "../users/Admin.module.css";
import { type Macro, useDeleteMacro, useMacros, useSaveMacro } from "./api";
import { placeholdersIn } from "./filter";

const PLACEHOLDERS =
  "ticket.id, ticket.number, ticket.title, ticket.status, ticket.priority, ticket.tags, ticket.created_at, customer.name, customer.email, agent.name, agent.email";

/** Personal macros (every agent) and shared ones (admins): a reply template and actions. */
export function MacrosPage() {
  useDocumentTitle("Macros");
  const me = useMe().data;
  const macros = useMacros();
  const [editing, setEditing] = useState<Macro | "new" | null>(null);
  const [deleting, setDeleting] = useState<Macro | null>(null);
  const remove = useDeleteMacro();
  const mayChange = (m: Macro) => m.owner_id === me?.id || (m.owner_id === null && me?.role === "admin");

  return (
    <section aria-labelledby="macros-title">
      <h1 id="macros-title">Macros</h1>
      <p>
        A macro is a reply with placeholders plus actions; in a ticket, <strong>Insert macro</strong> (or <kbd>m</kbd>) applies
        its actions and puts its reply in the message box for you to review.
      </p>
      {editing === null && (
        <button type="button" onClick={() => setEditing("new")}>
          New macro
        </button>
      )}
      {editing !== null && <MacroForm key={editing === "new" ? "new" : editing.id} macro={editing === "new" ? null : editing} onDone={() => setEditing(null)} admin={me?.role === "admin"} />}
      {remove.isError && <ProblemMessage error={remove.error} />}
      {macros.isPending ? (
        <Loading label="Loading macros" />
      ) : macros.isError ? (
        <ProblemMessage error={macros.error} retry={() => void macros.refetch()} />
      ) : macros.data.length === 0 ? (
        <EmptyState title="No macros yet">Create one for the answers you give most.</EmptyState>
      ) : (
        <div className={styles.scroll}>
          <table aria-label="Macros">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Actions</th>
                <th scope="col">Used</th>
                <th scope="col">
                  <span className="visually-hidden">Manage</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {macros.data.map((m) => (
                <tr key={m.id}>
                  <td>{m.name}</td>
                  <td>{m.owner_id === null ? "Shared" : "Personal"}</td>
                  <td>{m.actions.length}</td>
                  <td>{m.usage_count}</td>
                  <td>
                    {mayChange(m) && (
                      <>
                        <button type="button" data-variant="secondary" onClick={() => setEditing(m)}>
                          Edit {m.name}
                        </button>{" "}
                        <button type="button" data-variant="secondary" onClick={() => setDeleting(m)}>
                          Delete {m.name}
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {deleting && (
        <Dialog
          title={`Delete macro ${deleting.name}?`}
          confirm="Delete macro"
          danger
          onConfirm={() => {
            remove.mutate(deleting.id);
            setDeleting(null);
          }}
          onCancel={() => setDeleting(null)}
        />
      )}
    </section>
  );
}

function MacroForm({ macro, onDone, admin }: { macro: Macro | null; onDone: () => void; admin: boolean }) {
  const save = useSaveMacro();
  const staff = useStaff(true);
  const teams = useTeams();
  const [name, setName] = useState(macro?.name ?? "");
  const [body, setBody] = useState(macro?.body ?? "");
  const [shared, setShared] = useState(false);
  const [actions, setActions] = useState<ActionDraft[]>(() => (macro?.actions ?? []).map((a) => actionFromApi(a)));
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const built = actionsToApi(actions);
    if ("error" in built) {
      setError(built.error);
      return;
    }
    setError(null);
    await save.mutateAsync({ id: macro?.id ?? null, body: { name: name.trim(), body, actions: built, ...(macro ? {} : { shared }) } });
    onDone();
  }

  const used = placeholdersIn(body);
  return (
    <form className={styles.card} aria-labelledby="macro-form-title" onSubmit={(e) => void submit(e).catch(() => undefined)}>
      <h2 id="macro-form-title">{macro ? `Edit ${macro.name}` : "New macro"}</h2>
      <div className={styles.grid}>
        <label htmlFor="macro-name">Name</label>
        <input id="macro-name" value={name} required maxLength={100} onChange={(e) => setName(e.target.value)} />
        <label htmlFor="macro-body">Reply</label>
        <textarea id="macro-body" rows={6} value={body} maxLength={20000} aria-describedby="macro-placeholders" onChange={(e) => setBody(e.target.value)} />
      </div>
      <p id="macro-placeholders" className={styles.note}>
        Placeholders, as <code>{"{{ customer.name }}"}</code>: {PLACEHOLDERS}; filters <code>default upper lower title trim capitalize join</code>.
        {used.length > 0 && <> This reply uses: {used.join(", ")}.</>}
      </p>
      {!macro && admin && (
        <label>
          <input type="checkbox" checked={shared} onChange={(e) => setShared(e.target.checked)} /> Shared with every agent
        </label>
      )}
      <ActionsEditor actions={actions} onChange={setActions} types={MACRO_ACTIONS} staff={staff.data} teams={teams.data} idPrefix="macro" />
      {error && <p role="alert">{error}</p>}
      {save.isError && <ProblemMessage error={save.error} />}
      <div>
        <button type="submit" disabled={save.isPending}>
          {macro ? "Save macro" : "Create macro"}
        </button>{" "}
        <button type="button" data-variant="secondary" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
