import { humanize } from "../../lib/format";
import { useCalendars } from "../sla/api";
import type { Team } from "../teams/api";
import type { StaffMember } from "../users/api";
import {
  CHANGEABLE,
  type ConditionDraft,
  EVENTS,
  FIELDS,
  OP_LABELS,
  PRIORITIES,
  STATUSES,
  TIME_UNITS,
  fieldDef,
  isBusinessUnit,
  isListOp,
  needsValue,
  newCondition,
  withField,
} from "./model";
import styles from "./Automation.module.css";

interface Props {
  legend: string;
  conditions: ConditionDraft[];
  onChange: (conditions: ConditionDraft[]) => void;
  staff: StaffMember[] | undefined;
  teams: Team[] | undefined;
  idPrefix: string;
}

function choices(kind: string, staff: StaffMember[] | undefined, teams: Team[] | undefined): [string, string][] | null {
  switch (kind) {
    case "event":
      return EVENTS.map((e) => [e, e]);
    case "status":
      return STATUSES.map((s) => [s, humanize(s)]);
    case "priority":
      return PRIORITIES.map((p) => [p, humanize(p)]);
    case "user":
      return (staff ?? []).map((u) => [u.id, u.name]);
    case "team":
      return (teams ?? []).map((t) => [t.id, t.name]);
    case "field":
      return CHANGEABLE.map((f) => [f, humanize(f)]);
    default:
      return null;
  }
}

/** One list of conditions (the rule's "all" or "any"): field, operator and value from lists. */
export function ConditionsEditor({ legend, conditions, onChange, staff, teams, idPrefix }: Props) {
  const set = (i: number, next: ConditionDraft) => onChange(conditions.map((c, j) => (j === i ? next : c)));
  const calendars = useCalendars().data;
  return (
    <fieldset className={styles.group}>
      <legend>{legend}</legend>
      {conditions.length === 0 && <p className={styles.muted}>None.</p>}
      <ol className={styles.list}>
        {conditions.map((c, i) => {
          const n = i + 1;
          const def = fieldDef(c.field);
          const options = choices(def.kind, staff, teams);
          const name = `${legend}: condition ${n}`;
          return (
            <li key={i} className={styles.item}>
              <select aria-label={`${name} field`} id={`${idPrefix}-${i}-field`} value={c.field} onChange={(e) => set(i, withField(c, e.target.value))}>
                {FIELDS.map((f) => (
                  <option key={f.field} value={f.field}>
                    {f.label}
                  </option>
                ))}
              </select>
              {c.field === "metadata" && (
                <input aria-label={`${name} metadata key`} value={c.key} placeholder="plan" onChange={(e) => set(i, { ...c, key: e.target.value })} />
              )}
              <select aria-label={`${name} operator`} value={c.op} onChange={(e) => set(i, { ...c, op: e.target.value })}>
                {def.ops.map((op) => (
                  <option key={op} value={op}>
                    {OP_LABELS[op] ?? op}
                  </option>
                ))}
              </select>
              {def.kind === "duration" && (
                <>
                  <input
                    aria-label={`${name} amount`}
                    inputMode="numeric"
                    value={c.value}
                    onChange={(e) => set(i, { ...c, value: e.target.value })}
                  />
                  <select aria-label={`${name} unit`} value={c.unit ?? "hours"} onChange={(e) => set(i, { ...c, unit: e.target.value })}>
                    {TIME_UNITS.map(([value, label]) => (
                      <option key={value} value={value}>
                        {label}
                      </option>
                    ))}
                  </select>
                  {isBusinessUnit(c.unit) && (
                    <select aria-label={`${name} calendar`} value={c.calendar ?? ""} onChange={(e) => set(i, { ...c, calendar: e.target.value })}>
                      <option value="">Choose a calendar…</option>
                      {(calendars ?? []).map((cal) => (
                        <option key={cal.id} value={cal.id}>
                          {cal.name}
                        </option>
                      ))}
                    </select>
                  )}
                </>
              )}
              {def.kind !== "duration" && needsValue(c.op) &&
                (options && !isListOp(c.op) ? (
                  <select aria-label={`${name} value`} value={c.value} onChange={(e) => set(i, { ...c, value: e.target.value })}>
                    <option value="">Choose…</option>
                    {options.map(([value, label]) => (
                      <option key={value} value={value}>
                        {label}
                      </option>
                    ))}
                  </select>
                ) : options && isListOp(c.op) ? (
                  <select
                    multiple
                    aria-label={`${name} values`}
                    value={c.value.split(",").map((v) => v.trim()).filter(Boolean)}
                    onChange={(e) => set(i, { ...c, value: Array.from(e.target.selectedOptions, (o) => o.value).join(", ") })}
                  >
                    {options.map(([value, label]) => (
                      <option key={value} value={value}>
                        {label}
                      </option>
                    ))}
                  </select>
                ) : (
                  <input
                    aria-label={`${name} value${isListOp(c.op) ? "s (comma-separated)" : ""}`}
                    value={c.value}
                    inputMode={def.kind === "number" ? "numeric" : undefined}
                    onChange={(e) => set(i, { ...c, value: e.target.value })}
                  />
                ))}
              <button type="button" data-variant="secondary" onClick={() => onChange(conditions.filter((_, j) => j !== i))}>
                Remove {legend.toLowerCase()} condition {n}
              </button>
            </li>
          );
        })}
      </ol>
      <button type="button" data-variant="secondary" onClick={() => onChange([...conditions, newCondition(conditions.length ? "status" : "event")])}>
        Add a condition to {legend.toLowerCase()}
      </button>
    </fieldset>
  );
}
