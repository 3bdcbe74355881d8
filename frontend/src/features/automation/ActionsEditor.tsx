import { humanize } from "../../lib/format";
import type { Team } from "../teams/api";
import type { StaffMember } from "../users/api";
import { ACTION_LABELS, type ActionDraft, type ActionType, PRIORITIES, STATUSES, newAction } from "./model";
import styles from "./Automation.module.css";

interface Props {
  actions: ActionDraft[];
  onChange: (actions: ActionDraft[]) => void;
  types: ActionType[];
  staff: StaffMember[] | undefined;
  teams: Team[] | undefined;
  /** Prefix of the controls' ids (two editors on one page). */
  idPrefix: string;
}

/** An ordered list of actions, each built from dropdowns and plain fields (never raw JSON). */
export function ActionsEditor({ actions, onChange, types, staff, teams, idPrefix }: Props) {
  const set = (i: number, change: Partial<ActionDraft>) => onChange(actions.map((a, j) => (j === i ? { ...a, ...change } : a)));
  const remove = (i: number) => onChange(actions.filter((_, j) => j !== i));
  return (
    <fieldset className={styles.group}>
      <legend>Actions, in order</legend>
      {actions.length === 0 && <p className={styles.muted}>No actions.</p>}
      <ol className={styles.list}>
        {actions.map((a, i) => {
          const n = i + 1;
          const id = `${idPrefix}-action-${i}`;
          return (
            <li key={i} className={styles.item}>
              <label htmlFor={`${id}-type`}>Action {n}</label>
              <select id={`${id}-type`} value={a.type} onChange={(e) => set(i, newAction(e.target.value as ActionType))}>
                {types.map((t) => (
                  <option key={t} value={t}>
                    {ACTION_LABELS[t]}
                  </option>
                ))}
              </select>
              {a.type === "set" && (
                <>
                  <select aria-label={`Action ${n} field`} value={a.field} onChange={(e) => set(i, { field: e.target.value, value: e.target.value === "status" ? "open" : e.target.value === "priority" ? "normal" : "" })}>
                    <option value="status">Status</option>
                    <option value="priority">Priority</option>
                    <option value="assigned_to">Assignee</option>
                    <option value="team_id">Team</option>
                  </select>
                  <select aria-label={`Action ${n} value`} value={a.value} onChange={(e) => set(i, { value: e.target.value })}>
                    {a.field === "status" && STATUSES.map((s) => <option key={s} value={s}>{humanize(s)}</option>)}
                    {a.field === "priority" && PRIORITIES.map((p) => <option key={p} value={p}>{humanize(p)}</option>)}
                    {a.field === "assigned_to" && (
                      <>
                        <option value="">Unassigned</option>
                        {staff?.map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
                      </>
                    )}
                    {a.field === "team_id" && (
                      <>
                        <option value="">No team</option>
                        {teams?.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
                      </>
                    )}
                  </select>
                </>
              )}
              {(a.type === "add_tags" || a.type === "remove_tags") && (
                <input aria-label={`Action ${n} tags (comma-separated)`} value={a.tags} onChange={(e) => set(i, { tags: e.target.value })} placeholder="vip, billing" />
              )}
              {a.type === "set_metadata" && (
                <>
                  <input aria-label={`Action ${n} metadata key`} value={a.key} onChange={(e) => set(i, { key: e.target.value })} placeholder="plan" />
                  <input aria-label={`Action ${n} metadata value`} value={a.value} onChange={(e) => set(i, { value: e.target.value })} placeholder='"gold" or 3 or text' />
                </>
              )}
              {(a.type === "internal_note" || a.type === "reply") && (
                <textarea aria-label={`Action ${n} text (placeholders allowed)`} rows={2} value={a.body} onChange={(e) => set(i, { body: e.target.value })} />
              )}
              {(a.type === "assign_round_robin" || a.type === "assign") && (
                <select aria-label={`Action ${n} team`} value={a.target} onChange={(e) => set(i, { target: e.target.value })}>
                  <option value="">Choose a team</option>
                  {teams?.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
                </select>
              )}
              {a.type === "assign" && (
                <select aria-label={`Action ${n} strategy`} value={a.value} onChange={(e) => set(i, { value: e.target.value })}>
                  <option value="round_robin">In turn</option>
                  <option value="least_loaded">The least loaded (fewest open tickets)</option>
                </select>
              )}
              {a.type === "webhook" && (
                <input aria-label={`Action ${n} webhook endpoint id`} value={a.target} onChange={(e) => set(i, { target: e.target.value })} />
              )}
              <button type="button" data-variant="secondary" onClick={() => remove(i)}>
                Remove action {n}
              </button>
            </li>
          );
        })}
      </ol>
      <button type="button" data-variant="secondary" onClick={() => onChange([...actions, newAction(types.includes("set") ? "set" : (types[0] as ActionType))])}>
        Add an action
      </button>
    </fieldset>
  );
}
