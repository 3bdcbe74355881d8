import { type FormEvent, useState } from "react";
import { ProblemMessage } from "../../components/ProblemMessage";
import { humanize } from "../../lib/format";
import { PRIORITIES, STATUSES } from "../inbox/filters";
import type { Team } from "../teams/api";
import type { StaffMember } from "../users/api";
import { useBulkUpdate } from "./api";
import { type BulkForm, type BulkResult, EMPTY_FORM, MAX_BULK, NONE, failures, summarize, toChanges } from "./changes";
import styles from "./Bulk.module.css";

interface Props {
  /** The selected ticket ids, in the inbox's order. */
  ids: string[];
  titleOf: (id: string) => string;
  staff: StaffMember[] | undefined;
  teams: Team[] | undefined;
  knownTags: string[];
  onClear: () => void;
}

/** The bar over the inbox while tickets are selected: one change for all of them, one request,
 * and what happened to each (tickets that could not be changed stay selected). */
export function BulkBar({ ids, titleOf, staff, teams, knownTags, onClear }: Props) {
  const [form, setForm] = useState<BulkForm>(EMPTY_FORM);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<BulkResult | null>(null);
  const bulk = useBulkUpdate();
  const set = (change: Partial<BulkForm>) => setForm((f) => ({ ...f, ...change }));
  const tooMany = ids.length > MAX_BULK;

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const parsed = toChanges(form);
    if ("error" in parsed) {
      setError(parsed.error);
      return;
    }
    setError(null);
    const answer = await bulk.mutateAsync({ ids, changes: parsed.changes });
    setResult(answer);
    setForm(EMPTY_FORM);
    if (answer.failed === 0) onClear();
  }

  const failed = result ? failures(result) : [];
  return (
    <section aria-label="Bulk actions" className={styles.bar}>
      <p className={styles.count}>
        <strong>{ids.length}</strong> {ids.length === 1 ? "ticket" : "tickets"} selected
        <button type="button" data-variant="secondary" onClick={onClear}>
          Clear selection
        </button>
      </p>
      {ids.length > 0 && (
        <form className={styles.form} onSubmit={(e) => void submit(e).catch(() => undefined)}>
          <label>
            Set status
            <select value={form.status} onChange={(e) => set({ status: e.target.value })}>
              <option value="">Keep</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {humanize(s)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Set priority
            <select value={form.priority} onChange={(e) => set({ priority: e.target.value })}>
              <option value="">Keep</option>
              {PRIORITIES.map((p) => (
                <option key={p} value={p}>
                  {humanize(p)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Set assignee
            <select value={form.assignee} onChange={(e) => set({ assignee: e.target.value })}>
              <option value="">Keep</option>
              <option value={NONE}>Unassigned</option>
              {staff?.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Set team
            <select value={form.team} onChange={(e) => set({ team: e.target.value })}>
              <option value="">Keep</option>
              <option value={NONE}>No team</option>
              {teams?.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Add tag
            <input value={form.addTag} list="bulk-known-tags" maxLength={50} onChange={(e) => set({ addTag: e.target.value })} />
          </label>
          <label>
            Remove tag
            <input value={form.removeTag} list="bulk-known-tags" maxLength={50} onChange={(e) => set({ removeTag: e.target.value })} />
          </label>
          <datalist id="bulk-known-tags">
            {knownTags.map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
          <button type="submit" disabled={bulk.isPending || tooMany}>
            {bulk.isPending ? "Applying…" : `Apply to ${ids.length}`}
          </button>
        </form>
      )}
      {tooMany && <p role="alert">At most {MAX_BULK} tickets at once: select fewer.</p>}
      {error && (
        <p role="alert" className={styles.error}>
          {error}
        </p>
      )}
      {bulk.isError && <ProblemMessage error={bulk.error} />}
      <div role="status" className={styles.result}>
        {result && summarize(result)}
      </div>
      {failed.length > 0 && (
        <ul aria-label="Tickets not changed" className={styles.failures}>
          {failed.map((f) => (
            <li key={f.ticketId}>
              {titleOf(f.ticketId)}: {f.reason}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
