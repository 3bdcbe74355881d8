import { type FormEvent, useEffect, useRef, useState } from "react";
import { Dialog } from "../../components/Dialog";
import { ProblemMessage } from "../../components/ProblemMessage";
import { ApiError } from "../../lib/api/problem";
import { humanize } from "../../lib/format";
import { tooLong } from "../../lib/text";
import { PRIORITIES, type Status } from "../inbox/filters";
import { type Team, teamName } from "../teams/api";
import { nameOf, type StaffMember } from "../users/api";
import { type TicketDetail, type TicketUpdate, useTicket, useUpdateTicket } from "./api";
import {
  type FieldConflict,
  FIELD_LABELS,
  type TicketValues,
  conflictingFields,
  conflictsOfProblem,
} from "./conflict";
import { isIrreversible, statusChoices } from "./transitions";
import styles from "./Ticket.module.css";

const TITLE_MAX = 200;

function values(ticket: TicketDetail): TicketValues {
  return {
    title: ticket.title,
    description: ticket.description,
    status: ticket.status,
    priority: ticket.priority,
    assigned_to: ticket.assigned_to ?? null,
    team_id: ticket.team_id ?? null,
  };
}

interface Choices {
  status: TicketDetail["status"];
  priority: TicketDetail["priority"];
  assigned_to: string;
  team_id: string;
}

const choicesOf = (ticket: TicketDetail): Choices => ({
  status: ticket.status,
  priority: ticket.priority,
  assigned_to: ticket.assigned_to ?? "",
  team_id: ticket.team_id ?? "",
});

/** The fields of `draft` that differ from the ticket, as a PATCH body. */
function changedChoices(ticket: TicketDetail, draft: Choices, staff: boolean): TicketUpdate {
  const body: TicketUpdate = {};
  if (draft.status !== ticket.status) body.status = draft.status;
  if (staff && draft.priority !== ticket.priority) body.priority = draft.priority;
  if (staff && draft.assigned_to !== (ticket.assigned_to ?? "")) body.assigned_to = draft.assigned_to || null;
  if (staff && draft.team_id !== (ticket.team_id ?? "")) body.team_id = draft.team_id || null;
  return body;
}

interface Props {
  ticket: TicketDetail;
  staff: boolean;
  people: StaffMember[] | undefined;
  teams?: Team[] | undefined;
}

/**
 * Title and description edited inline; status, priority and assignee chosen, then saved with
 * "Save changes" (a select never saves on its own: one arrow key must not close a ticket), and
 * closing asks first. Every save sends If-Match; a conflict shows both values.
 */
export function TicketFields({ ticket, staff, people, teams }: Props) {
  const update = useUpdateTicket(ticket.id);
  const refetch = useTicket(ticket.id).refetch;
  const [editing, setEditing] = useState<"title" | "description" | null>(null);
  const [conflict, setConflict] = useState<{ mine: TicketUpdate; fields: FieldConflict[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [draft, setDraft] = useState<Choices>(() => choicesOf(ticket));
  const [confirmClose, setConfirmClose] = useState<TicketUpdate | null>(null);
  const [titleText, setTitleText] = useState(ticket.title);
  const titleRef = useRef<HTMLHeadingElement>(null);
  const statusRef = useRef<HTMLSelectElement>(null);
  const editTitleRef = useRef<HTMLButtonElement>(null);
  const editDescriptionRef = useRef<HTMLButtonElement>(null);
  const focusNext = useRef<(() => HTMLElement | null) | null>(null);
  const closed = ticket.status === "closed";
  const pending = changedChoices(ticket, draft, staff);
  const dirty = Object.keys(pending).length > 0;
  const titleProblem = tooLong(titleText, TITLE_MAX, "The title");

  // A newer version (saved here, merged, or loaded after a conflict) resets the choices.
  const version = ticket.version;
  useEffect(() => setDraft(choicesOf(ticket)), [version]);

  // Focus goes where the user continues, never to <body>, once the saved page has rendered.
  useEffect(() => {
    const target = focusNext.current?.();
    focusNext.current = null;
    target?.focus();
  });

  const label = (field: keyof TicketValues, value: string | null) =>
    field === "assigned_to"
      ? nameOf(people, value)
      : field === "team_id"
        ? (teamName(teams, value) ?? "No team")
      : field === "status" || field === "priority"
        ? humanize(value ?? "")
        : value || "(empty)";

  async function save(body: TicketUpdate, after: () => HTMLElement | null, version = ticket.version) {
    setError(null);
    setNotice(null);
    try {
      const saved = await update.mutateAsync({ version, body });
      setConflict(null);
      setEditing(null);
      setNotice(
        saved.version > version + 1
          ? "Saved. Someone else changed other fields meanwhile; the ticket shows both changes."
          : "Saved.",
      );
      focusNext.current = () => (saved.status === "closed" ? titleRef.current : after());
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) {
        // Someone else changed the same field first: load their version, show both values.
        const fresh = (await refetch()).data;
        const fields =
          conflictsOfProblem(err.body) ??
          (fresh ? conflictingFields(body as Partial<TicketValues>, values(fresh)) : []);
        setConflict({ mine: body, fields });
        setEditing(null);
        focusNext.current = () => document.getElementById("ticket-conflict");
      } else {
        setError(err);
      }
    }
  }

  function submitText(field: "title" | "description") {
    return (event: FormEvent<HTMLFormElement>) => {
      event.preventDefault();
      if (field === "title" && titleProblem) return;
      const after = () => (field === "title" ? editTitleRef.current : editDescriptionRef.current);
      void save({ [field]: String(new FormData(event.currentTarget).get(field) ?? "") }, after);
    };
  }

  function submitChoices(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!dirty) return;
    if (isIrreversible(pending.status)) {
      setConfirmClose(pending);
      return;
    }
    void save(pending, () => statusRef.current);
  }

  function cancelEdit(field: "title" | "description") {
    setEditing(null);
    focusNext.current = () => (field === "title" ? editTitleRef.current : editDescriptionRef.current);
  }

  const statuses = statusChoices(staff, ticket.status as Status);

  return (
    <div className={styles.fields}>
      {conflict && (
        <div role="alert" id="ticket-conflict" tabIndex={-1} className={styles.conflict}>
          <strong>Changed by someone else.</strong> Your change was not saved; the ticket now shows their
          version.
          {conflict.fields.length > 0 ? (
            <ul>
              {conflict.fields.map((c) => (
                <li key={c.field}>
                  {FIELD_LABELS[c.field]}: theirs <strong>{label(c.field, c.theirs)}</strong>, yours{" "}
                  <strong>{label(c.field, c.mine)}</strong>
                </li>
              ))}
            </ul>
          ) : (
            <p>Their change already matches yours.</p>
          )}
          <div className={styles.actions}>
            {conflict.fields.length > 0 && (
              <button type="button" onClick={() => void save(conflict.mine, () => statusRef.current, ticket.version)}>
                Apply my change anyway
              </button>
            )}
            <button
              type="button"
              data-variant="secondary"
              onClick={() => {
                setConflict(null);
                focusNext.current = () => titleRef.current;
              }}
            >
              Keep theirs
            </button>
          </div>
        </div>
      )}
      {editing === "title" ? (
        <form onSubmit={submitText("title")} className={styles.inlineForm} noValidate>
          <label htmlFor="edit-title">Title</label>
          <input
            id="edit-title"
            name="title"
            defaultValue={ticket.title}
            onChange={(e) => setTitleText(e.target.value)}
            required
            aria-invalid={titleProblem ? true : undefined}
            aria-describedby={titleProblem ? "edit-title-error" : undefined}
            autoFocus
          />
          <button type="submit" disabled={update.isPending}>Save title</button>
          <button type="button" data-variant="secondary" onClick={() => cancelEdit("title")}>Cancel</button>
          {titleProblem && (
            <p id="edit-title-error" role="alert" className={styles.error}>
              {titleProblem}
            </p>
          )}
        </form>
      ) : (
        <div className={styles.titleRow}>
          <h1 id="ticket-title" ref={titleRef} tabIndex={-1}>
            {ticket.title}
          </h1>
          {!closed && (
            <button
              type="button"
              ref={editTitleRef}
              data-variant="secondary"
              onClick={() => {
                setTitleText(ticket.title);
                setEditing("title");
              }}
            >
              Edit title
            </button>
          )}
        </div>
      )}
      <form className={styles.selects} onSubmit={submitChoices} aria-label="Ticket fields">
        <label>
          Status{" "}
          <select
            ref={statusRef}
            value={draft.status}
            disabled={closed || update.isPending || statuses.length < 2}
            onChange={(e) => setDraft((d) => ({ ...d, status: e.target.value as Choices["status"] }))}
          >
            {statuses.map((s) => (
              <option key={s} value={s}>{humanize(s)}</option>
            ))}
          </select>
        </label>
        {staff ? (
          <>
            <label>
              Priority{" "}
              <select
                value={draft.priority}
                disabled={closed || update.isPending}
                onChange={(e) => setDraft((d) => ({ ...d, priority: e.target.value as Choices["priority"] }))}
              >
                {PRIORITIES.map((p) => (
                  <option key={p} value={p}>{humanize(p)}</option>
                ))}
              </select>
            </label>
            <label>
              Assignee{" "}
              <select
                value={draft.assigned_to}
                disabled={closed || update.isPending}
                onChange={(e) => setDraft((d) => ({ ...d, assigned_to: e.target.value }))}
              >
                <option value="">Unassigned</option>
                {people?.map((u) => (
                  <option key={u.id} value={u.id}>{u.name}</option>
                ))}
              </select>
            </label>
            <label>
              Team{" "}
              <select
                value={draft.team_id}
                disabled={closed || update.isPending}
                onChange={(e) => setDraft((d) => ({ ...d, team_id: e.target.value }))}
              >
                <option value="">No team</option>
                {teams?.map((t) => (
                  <option key={t.id} value={t.id}>{t.name}</option>
                ))}
              </select>
            </label>
          </>
        ) : (
          <span>Priority: {humanize(ticket.priority)}</span>
        )}
        {!closed && (
          <>
            <button type="submit" disabled={!dirty || update.isPending}>
              {update.isPending ? "Saving…" : "Save changes"}
            </button>
            {dirty && (
              <button type="button" data-variant="secondary" onClick={() => setDraft(choicesOf(ticket))}>
                Undo changes
              </button>
            )}
          </>
        )}
        <span className={styles.muted}>Version {ticket.version}</span>
      </form>
      <p role="status" className={styles.muted}>
        {dirty ? "Unsaved changes: press Save changes." : (notice ?? "")}
      </p>
      {closed && <p className={styles.muted}>This ticket is closed and can no longer change.</p>}
      {confirmClose && (
        <Dialog
          title="Close this ticket?"
          confirm="Close ticket"
          danger
          onCancel={() => setConfirmClose(null)}
          onConfirm={() => {
            const body = confirmClose;
            setConfirmClose(null);
            void save(body, () => titleRef.current);
          }}
        >
          <p>A closed ticket can no longer be changed, reopened or replied to. This cannot be undone.</p>
        </Dialog>
      )}
      <section aria-labelledby="description-title" className={styles.description}>
        <h2 id="description-title">Description</h2>
        {editing === "description" ? (
          <form onSubmit={submitText("description")} className={styles.stack}>
            <label htmlFor="edit-description">Description</label>
            <textarea id="edit-description" name="description" defaultValue={ticket.description} rows={8} maxLength={100000} autoFocus />
            <div className={styles.actions}>
              <button type="submit" disabled={update.isPending}>Save description</button>
              <button type="button" data-variant="secondary" onClick={() => cancelEdit("description")}>Cancel</button>
            </div>
          </form>
        ) : (
          <>
            <p className={styles.pre}>{ticket.description || <em>No description.</em>}</p>
            {!closed && (
              <button type="button" ref={editDescriptionRef} data-variant="secondary" onClick={() => setEditing("description")}>
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
