import { type FormEvent, useId, useState } from "react";
import { Link } from "react-router";
import { EmptyState, Loading } from "../../components/Loading";
import { ProblemMessage } from "../../components/ProblemMessage";
import { humanize } from "../../lib/format";
import { useDocumentTitle } from "../../lib/title";
import { useMailboxes } from "../mail/api";
import adminStyles from "../users/Admin.module.css";
import { useCalendars, useDeletePolicy, usePolicies, useReorderPolicies, useSavePolicy } from "./api";
import { formatDuration } from "./duration";
import { FieldError, invalid } from "./fields";
import {
  describeConditions,
  errorAt,
  type FieldErrors,
  KIND_LABELS,
  KINDS,
  nextPosition,
  PAUSABLE,
  type Policy,
  type PolicyDraft,
  policyBody,
  policyDraft,
  PRIORITIES,
  problemFields,
  reorder,
} from "./form";
import { RecomputeProgress } from "./RecomputeProgress";
import styles from "./Sla.module.css";

function toggle<T>(list: T[], value: T, on: boolean): T[] {
  return on ? [...list.filter((v) => v !== value), value] : list.filter((v) => v !== value);
}

function TargetsTable({ draft, set, errors }: { draft: PolicyDraft; set: (d: PolicyDraft) => void; errors: FieldErrors }) {
  const id = useId();
  return (
    <fieldset className={styles.block}>
      <legend>Targets per priority (hours and minutes; business hours of the calendar, or calendar time around the clock)</legend>
      <FieldError id={`${id}-targets`} message={errors.targets} />
      <div className={adminStyles.scroll} role="region" aria-label="Targets, scrollable" tabIndex={0}>
        <table className={styles.targets} aria-label="Targets">
          <thead>
            <tr>
              <th scope="col">Priority</th>
              {KINDS.map((k) => (
                <th key={k} scope="col">{KIND_LABELS[k]}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {PRIORITIES.map((p) => (
              <tr key={p}>
                <th scope="row">{humanize(p)}</th>
                {KINDS.map((k) => {
                  const t = draft.targets[p][k];
                  const what = `${humanize(p)} ${KIND_LABELS[k].toLowerCase()}`;
                  const error = errorAt(errors, `targets.${p}.${k}`);
                  const errorId = `${id}-${p}-${k}`;
                  const change = (next: Partial<typeof t>) =>
                    set({ ...draft, targets: { ...draft.targets, [p]: { ...draft.targets[p], [k]: { ...t, ...next } } } });
                  return (
                    <td key={k}>
                      <div className={styles.target}>
                        <label>
                          <input type="checkbox" checked={t.on} onChange={(e) => change({ on: e.target.checked })} /> <span className="visually-hidden">{what}: </span>target
                        </label>
                        {t.on && (
                          <>
                            <input aria-label={`${what} hours`} inputMode="numeric" value={t.hours} onChange={(e) => change({ hours: e.target.value })} {...invalid(errorId, error)} />
                            h
                            <input aria-label={`${what} minutes`} inputMode="numeric" value={t.minutes} onChange={(e) => change({ minutes: e.target.value })} {...invalid(errorId, error)} />
                            min
                            <label>
                              <input type="checkbox" checked={t.business} onChange={(e) => change({ business: e.target.checked })} />{" "}
                              <span className="visually-hidden">{what} in </span>business hours
                            </label>
                          </>
                        )}
                      </div>
                      <FieldError id={errorId} message={error} />
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </fieldset>
  );
}

function ConditionsEditor({ draft, set, errors }: { draft: PolicyDraft; set: (d: PolicyDraft) => void; errors: FieldErrors }) {
  const id = useId();
  const mailboxes = useMailboxes();
  const customersError = errorAt(errors, "conditions.customer_ids");
  return (
    <fieldset className={styles.block}>
      <legend>Applies to (all given conditions must hold; none: every ticket)</legend>
      <fieldset className={adminStyles.scopes}>
        <legend>Priorities (none: any)</legend>
        {PRIORITIES.map((p) => (
          <label key={p}>
            <input type="checkbox" checked={draft.priorities.includes(p)} onChange={(e) => set({ ...draft, priorities: toggle(draft.priorities, p, e.target.checked) })} />{" "}
            {humanize(p)}
          </label>
        ))}
      </fieldset>
      <fieldset className={adminStyles.scopes}>
        <legend>Mailboxes (none: any)</legend>
        {(mailboxes.data ?? []).length === 0 && <span className={adminStyles.note}>No mailboxes.</span>}
        {(mailboxes.data ?? []).map((m) => (
          <label key={m.id}>
            <input type="checkbox" checked={draft.mailbox_ids.includes(m.id)} onChange={(e) => set({ ...draft, mailbox_ids: toggle(draft.mailbox_ids, m.id, e.target.checked) })} />{" "}
            {m.address}
          </label>
        ))}
      </fieldset>
      <label htmlFor={`${id}-customers`}>Customer ids (one per line; none: any)</label>
      <textarea id={`${id}-customers`} rows={2} value={draft.customer_ids} onChange={(e) => set({ ...draft, customer_ids: e.target.value })} className={adminStyles.mono} {...invalid(`${id}-customers-error`, customersError)} />
      <FieldError id={`${id}-customers-error`} message={customersError} />
      <fieldset className={styles.block}>
        <legend>Metadata (the ticket has key = value; values read as JSON when they are)</legend>
        <ul className={styles.rows}>
          {draft.metadata.map((m, n) => {
            const error = errorAt(errors, `conditions.metadata.${n}`) ?? (n === 0 ? errorAt(errors, "conditions.metadata") : undefined);
            const change = (next: Partial<typeof m>) => set({ ...draft, metadata: draft.metadata.map((x, k) => (k === n ? { ...x, ...next } : x)) });
            return (
              <li key={n}>
                <label>
                  Metadata key {n + 1}
                  <input value={m.key} onChange={(e) => change({ key: e.target.value })} {...invalid(`${id}-m${n}`, error)} />
                </label>
                <label>
                  Metadata value {n + 1}
                  <input value={m.value} onChange={(e) => change({ value: e.target.value })} />
                </label>
                <button type="button" data-variant="secondary" aria-label={`Remove metadata condition ${n + 1}`} onClick={() => set({ ...draft, metadata: draft.metadata.filter((_, k) => k !== n) })}>
                  Remove
                </button>
                <FieldError id={`${id}-m${n}`} message={error} />
              </li>
            );
          })}
        </ul>
        <div>
          <button type="button" data-variant="secondary" onClick={() => set({ ...draft, metadata: [...draft.metadata, { key: "", value: "" }] })}>
            Add metadata condition
          </button>
        </div>
      </fieldset>
    </fieldset>
  );
}

function PolicyForm({ policy, position, onSaved, onCancel }: { policy: Policy | null; position: number; onSaved: (name: string, recompute: string) => void; onCancel: () => void }) {
  const calendars = useCalendars();
  const save = useSavePolicy();
  const [draft, setDraft] = useState(() => policyDraft(policy));
  const [tried, setTried] = useState(false); // after a first attempt, fields are checked as typed
  const local = tried ? policyBody(draft).errors : {};
  const id = useId();
  const errors: FieldErrors = { ...problemFields(save.error), ...local };
  const title = policy ? `Edit policy ${policy.name}` : "Create a policy";

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const { body, errors: found } = policyBody(draft);
    setTried(true);
    save.reset();
    if (Object.keys(found).length > 0) return;
    const written = await save.mutateAsync({ id: policy?.id ?? null, body: policy ? body : { ...body, position } });
    onSaved(written.name, written.recompute_id);
  }

  return (
    <form className={`${adminStyles.card} ${styles.wide}`} onSubmit={(e) => void submit(e).catch(() => undefined)} aria-labelledby={`${id}-title`} noValidate>
      <h2 id={`${id}-title`}>{title}</h2>
      <div className={adminStyles.grid}>
        <label htmlFor={`${id}-name`}>Name</label>
        <div>
          <input id={`${id}-name`} value={draft.name} maxLength={200} onChange={(e) => setDraft({ ...draft, name: e.target.value })} {...invalid(`${id}-name-error`, errors.name)} />
          <FieldError id={`${id}-name-error`} message={errors.name} />
        </div>
        <label htmlFor={`${id}-calendar`}>Calendar</label>
        <div>
          <select id={`${id}-calendar`} value={draft.calendar_id} onChange={(e) => setDraft({ ...draft, calendar_id: e.target.value })} {...invalid(`${id}-calendar-error`, errors.calendar_id)}>
            <option value="">None (calendar time only)</option>
            {(calendars.data ?? []).map((c) => (
              <option key={c.id} value={c.id}>{c.name} ({c.time_zone})</option>
            ))}
          </select>
          <FieldError id={`${id}-calendar-error`} message={errors.calendar_id} />
        </div>
        <label htmlFor={`${id}-warning`}>Warning at (% of a target used; 0: none)</label>
        <div>
          <input id={`${id}-warning`} inputMode="numeric" className={styles.short} value={draft.warning_percent} onChange={(e) => setDraft({ ...draft, warning_percent: e.target.value })} {...invalid(`${id}-warning-error`, errors.warning_percent)} />
          <FieldError id={`${id}-warning-error`} message={errors.warning_percent} />
        </div>
      </div>
      <fieldset className={adminStyles.scopes}>
        <legend>Statuses that pause the clocks (waiting on the customer)</legend>
        {PAUSABLE.map((s) => (
          <label key={s}>
            <input type="checkbox" checked={draft.pause_statuses.includes(s)} onChange={(e) => setDraft({ ...draft, pause_statuses: toggle(draft.pause_statuses, s, e.target.checked) })} />{" "}
            {humanize(s)}
          </label>
        ))}
        <FieldError id={`${id}-pause-error`} message={errorAt(errors, "pause_statuses")} />
      </fieldset>
      <ConditionsEditor draft={draft} set={setDraft} errors={errors} />
      <TargetsTable draft={draft} set={setDraft} errors={errors} />
      <label>
        <input type="checkbox" checked={draft.enabled} onChange={(e) => setDraft({ ...draft, enabled: e.target.checked })} /> Enabled
      </label>
      {Object.keys(local).length > 0 && <p role="alert" className={styles.error}>Some fields need a change (marked above).</p>}
      {save.isError && <ProblemMessage error={save.error} />}
      <div className={adminStyles.row}>
        <button type="submit" disabled={save.isPending}>{policy ? "Save policy" : "Create policy"}</button>
        {policy && (
          <button type="button" data-variant="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

function describeTargets(policy: Policy): string {
  const parts: string[] = [];
  for (const p of PRIORITIES) {
    const kinds = policy.targets[p];
    if (!kinds) continue;
    const bits = KINDS.flatMap((k) => {
      const t = kinds[k];
      return t ? [`${KIND_LABELS[k].toLowerCase()} ${formatDuration(t.seconds)}${t.business ? "" : " (24/7)"}`] : [];
    });
    parts.push(`${humanize(p)}: ${bits.join(", ")}`);
  }
  return parts.join("; ") || "No targets";
}

export function PoliciesPage() {
  const policies = usePolicies();
  const calendars = useCalendars();
  const mailboxes = useMailboxes();
  const move = useReorderPolicies();
  const remove = useDeletePolicy();
  const [editing, setEditing] = useState<Policy | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [recompute, setRecompute] = useState<string | null>(null);
  const [created, setCreated] = useState(0);
  useDocumentTitle("SLA policies");
  const list = policies.data ?? [];
  const calendarName = (id: string | null) => (id ? (calendars.data?.find((c) => c.id === id)?.name ?? "—") : "None (24/7)");
  const mailboxName = (id: string) => mailboxes.data?.find((m) => m.id === id)?.address ?? id;

  const saved = (what: string) => (name: string, run: string) => {
    setNotice(`${what} ${name}.`);
    setRecompute(run);
    setEditing(null);
    setCreated((n) => n + 1);
  };

  function moveBy(index: number, delta: -1 | 1) {
    const policy = list[index];
    const order = reorder(list, index, delta);
    if (!policy || !order) return;
    setNotice(null);
    move.mutate(order, {
      onSuccess: (written) => {
        setNotice(`Moved ${policy.name} ${delta < 0 ? "up" : "down"}: it is now number ${index + delta + 1}.`);
        if (written.recompute_id) setRecompute(written.recompute_id);
      },
    });
  }

  return (
    <section aria-labelledby="policies-title">
      <h1 id="policies-title">SLA policies</h1>
      <p>
        Tried in order: the first enabled policy whose conditions hold for a ticket sets its deadlines. Business time comes from a{" "}
        <Link to="/admin/calendars">calendar</Link>. Every change recomputes the deadlines of open tickets.
      </p>
      <div role="status">{notice}</div>
      {recompute && <RecomputeProgress id={recompute} />}
      {move.isError && <ProblemMessage error={move.error} />}
      {remove.isError && <ProblemMessage error={remove.error} />}
      {policies.isPending ? (
        <Loading label="Loading policies" />
      ) : policies.isError ? (
        <ProblemMessage error={policies.error} retry={() => void policies.refetch()} />
      ) : list.length === 0 ? (
        <EmptyState title="No SLA policies yet">Tickets have no deadlines until a policy applies to them.</EmptyState>
      ) : (
        <div className={adminStyles.scroll} role="region" aria-label="SLA policies, scrollable" tabIndex={0}>
          <table aria-label="SLA policies in order">
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Name</th>
                <th scope="col">Enabled</th>
                <th scope="col">Applies to</th>
                <th scope="col">Calendar</th>
                <th scope="col">Targets</th>
                <th scope="col"><span className="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {list.map((p, index) => (
                <tr key={p.id}>
                  <td>{index + 1}</td>
                  <td>{p.name}</td>
                  <td>{p.enabled ? "Yes" : "No"}</td>
                  <td>{describeConditions(p, mailboxName)}</td>
                  <td>{calendarName(p.calendar_id)}</td>
                  <td>{describeTargets(p)}</td>
                  <td>
                    <div className={adminStyles.row}>
                    <button type="button" data-variant="secondary" aria-label={`Move ${p.name} up`} disabled={index === 0 || move.isPending} onClick={() => moveBy(index, -1)}>
                      Up
                    </button>
                    <button type="button" data-variant="secondary" aria-label={`Move ${p.name} down`} disabled={index === list.length - 1 || move.isPending} onClick={() => moveBy(index, 1)}>
                      Down
                    </button>
                    <button type="button" data-variant="secondary" aria-label={`Edit ${p.name}`} onClick={() => { setNotice(null); setEditing(p); }}>
                      Edit
                    </button>
                    <button
                      type="button"
                      data-variant="secondary"
                      aria-label={`Delete ${p.name}`}
                      disabled={remove.isPending}
                      onClick={() => {
                        if (!window.confirm(`Delete the policy ${p.name}? Its tickets fall to the next matching policy.`)) return;
                        remove.mutate(p.id, { onSuccess: () => setNotice(`Deleted ${p.name}.`) });
                      }}
                    >
                      Delete
                    </button>
                  </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing ? (
        <PolicyForm key={editing.id} policy={editing} position={editing.position} onSaved={saved("Saved")} onCancel={() => setEditing(null)} />
      ) : (
        <PolicyForm key={`new-${created}`} policy={null} position={nextPosition(list)} onSaved={saved("Created")} onCancel={() => undefined} />
      )}
    </section>
  );
}
