import { type FormEvent, useState } from "react";
import { ProblemMessage } from "../../components/ProblemMessage";
import { ApiError } from "../../lib/api/problem";
import { humanize } from "../../lib/format";
import { PRIORITIES, STATUSES } from "../inbox/filters";
import { nameOf, type User } from "../users/api";
import { type TicketDetail, type TicketUpdate, useTicket, useUpdateTicket } from "./api";
import { type FieldConflict, FIELD_LABELS, type TicketValues, conflictingFields } from "./conflict";
import styles from "./Ticket.module.css";

function values(ticket: TicketDetail): TicketValues {
  return {
    title: ticket.title,
    description: ticket.description,
    status: ticket.status,
    priority: ticket.priority,
    assigned_to: ticket.assigned_to ?? null,
  };
}

interface Props {
  ticket: TicketDetail;
  staff: boolean;
  people: User[] | undefined;
}

/** Title, description, status, priority and assignee, each changed inline with If-Match. */
export function TicketFields({ ticket, staff, people }: Props) {
  const update = useUpdateTicket(ticket.id);
  const refetch = useTicket(ticket.id).refetch;
  const [editing, setEditing] = useState<"title" | "description" | null>(null);
  const [conflict, setConflict] = useState<{ mine: TicketUpdate; fields: FieldConflict[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const closed = ticket.status === "closed";
  const label = (field: keyof TicketValues, value: string | null) =>
    field === "assigned_to" ? nameOf(people, value) : field === "status" || field === "priority" ? humanize(value ?? "") : value;

  async function save(body: TicketUpdate, version = ticket.version) {
    setError(null);
    try {
      await update.mutateAsync({ version, body });
      setConflict(null);
      setEditing(null);
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) {
        // Someone else saved first: load their version, show it, never overwrite it.
        const fresh = (await refetch()).data;
        const fields = fresh ? conflictingFields(body as Partial<TicketValues>, values(fresh)) : [];
        setConflict({ mine: body, fields });
        setEditing(null);
      } else {
        setError(err);
      }
    }
  }

  function submitText(field: "title" | "description") {
    return (event: FormEvent<HTMLFormElement>) => {
      event.preventDefault();
      void save({ [field]: String(new FormData(event.currentTarget).get(field) ?? "") });
    };
  }

  return (
    <div className={styles.fields}>
      {conflict && (
        <div role="alert" className={styles.conflict}>
          <strong>Changed by someone else.</strong> Your change was not saved; the ticket now shows their
          version.
          {conflict.fields.length > 0 ? (
            <ul>
              {conflict.fields.map((c) => (
                <li key={c.field}>
                  {FIELD_LABELS[c.field]}: now <strong>{label(c.field, c.theirs)}</strong> (you chose{" "}
                  {label(c.field, c.mine)})
                </li>
              ))}
            </ul>
          ) : (
            <p>Their change already matches yours.</p>
          )}
          <div className={styles.actions}>
            {conflict.fields.length > 0 && (
              <button type="button" onClick={() => void save(conflict.mine, ticket.version)}>
                Apply my change anyway
              </button>
            )}
            <button type="button" data-variant="secondary" onClick={() => setConflict(null)}>
              Keep theirs
            </button>
          </div>
        </div>
      )}
      {editing === "title" ? (
        <form onSubmit={submitText("title")} className={styles.inlineForm}>
          <label htmlFor="edit-title">Title</label>
          <input id="edit-title" name="title" defaultValue={ticket.title} required maxLength={200} autoFocus />
          <button type="submit" disabled={update.isPending}>Save title</button>
          <button type="button" data-variant="secondary" onClick={() => setEditing(null)}>Cancel</button>
        </form>
      ) : (
        <div className={styles.titleRow}>
          <h1 id="ticket-title">{ticket.title}</h1>
          {!closed && (
            <button type="button" data-variant="secondary" onClick={() => setEditing("title")}>
              Edit title
            </button>
          )}
        </div>
      )}
      <div className={styles.selects}>
        <label>
          Status{" "}
          <select
            value={ticket.status}
            disabled={closed || update.isPending}
            onChange={(e) => void save({ status: e.target.value as TicketDetail["status"] })}
          >
            {STATUSES.map((s) => (
              <option key={s} value={s}>{humanize(s)}</option>
            ))}
          </select>
        </label>
        {staff ? (
          <>
            <label>
              Priority{" "}
              <select
                value={ticket.priority}
                disabled={closed || update.isPending}
                onChange={(e) => void save({ priority: e.target.value as TicketDetail["priority"] })}
              >
                {PRIORITIES.map((p) => (
                  <option key={p} value={p}>{humanize(p)}</option>
                ))}
              </select>
            </label>
            <label>
              Assignee{" "}
              <select
                value={ticket.assigned_to ?? ""}
                disabled={closed || update.isPending}
                onChange={(e) => void save({ assigned_to: e.target.value || null })}
              >
                <option value="">Unassigned</option>
                {people?.map((u) => (
                  <option key={u.id} value={u.id}>{u.name}</option>
                ))}
              </select>
            </label>
          </>
        ) : (
          <span>Priority: {humanize(ticket.priority)}</span>
        )}
        <span className={styles.muted}>Version {ticket.version}</span>
      </div>
      {closed && <p className={styles.muted}>This ticket is closed and can no longer change.</p>}
      <section aria-labelledby="description-title" className={styles.description}>
        <h2 id="description-title">Description</h2>
        {editing === "description" ? (
          <form onSubmit={submitText("description")} className={styles.stack}>
            <label htmlFor="edit-description">Description</label>
            <textarea id="edit-description" name="description" defaultValue={ticket.description} rows={8} maxLength={100000} autoFocus />
            <div className={styles.actions}>
              <button type="submit" disabled={update.isPending}>Save description</button>
              <button type="button" data-variant="secondary" onClick={() => setEditing(null)}>Cancel</button>
            </div>
          </form>
        ) : (
          <>
            <p className={styles.pre}>{ticket.description || <em>No description.</em>}</p>
            {!closed && (
              <button type="button" data-variant="secondary" onClick={() => setEditing("description")}>
                Edit description
              </button>
            )}
          </>
        )}
      </section>
      {error != null && <ProblemMessage error={error} />}
    </div>
  );
}
