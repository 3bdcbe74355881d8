import { type FormEvent, useId, useMemo, useState } from "react";
import { Link } from "react-router";
import { EmptyState, Loading } from "../../components/Loading";
import { ProblemMessage } from "../../components/ProblemMessage";
import { useDocumentTitle } from "../../lib/title";
import adminStyles from "../users/Admin.module.css";
import { useCalendars, useDeleteCalendar, useSaveCalendar, useSeedHolidays } from "./api";
import { checkTimeOfDay, isOvernight } from "./duration";
import { FieldError, invalid } from "./fields";
import {
  type Calendar,
  type CalendarDraft,
  calendarBody,
  calendarDraft,
  errorAt,
  type FieldErrors,
  type HolidayDraft,
  MONTHS,
  problemFields,
  validateCalendar,
  WEEKDAYS,
} from "./form";
import { RecomputeProgress } from "./RecomputeProgress";
import styles from "./Sla.module.css";
import { localZone, timeZones } from "./zones";

function IntervalsEditor({ draft, set, errors, id }: { draft: CalendarDraft; set: (d: CalendarDraft) => void; errors: FieldErrors; id: string }) {
  const update = (n: number, change: Partial<CalendarDraft["intervals"][number]>) =>
    set({ ...draft, intervals: draft.intervals.map((i, k) => (k === n ? { ...i, ...change } : i)) });
  return (
    <fieldset className={styles.block}>
      <legend>Business hours (local time; several a day; an end not after the start runs overnight)</legend>
      <ul className={styles.rows}>
        {draft.intervals.map((interval, n) => {
          const startError = errors[`intervals.${n}.start`];
          const endError = errors[`intervals.${n}.end`] ?? errors[`intervals.${n}`];
          return (
            <li key={n}>
              <label>
                Day of interval {n + 1}
                <select value={interval.weekday} onChange={(e) => update(n, { weekday: Number(e.target.value) })}>
                  {WEEKDAYS.map((d, k) => (
                    <option key={d} value={k}>{d}</option>
                  ))}
                </select>
              </label>
              <label>
                Start of interval {n + 1}
                <input className={styles.short} value={interval.start} placeholder="HH:MM" onChange={(e) => update(n, { start: e.target.value })} {...invalid(`${id}-i${n}-s`, startError)} />
              </label>
              <FieldError id={`${id}-i${n}-s`} message={startError} />
              <label>
                End of interval {n + 1}
                <input className={styles.short} value={interval.end} placeholder="HH:MM" onChange={(e) => update(n, { end: e.target.value })} {...invalid(`${id}-i${n}-e`, endError)} />
              </label>
              <FieldError id={`${id}-i${n}-e`} message={endError} />
              {!checkTimeOfDay(interval.start) && !checkTimeOfDay(interval.end, true) && isOvernight(interval.start, interval.end) && (
                <span className={adminStyles.note}>overnight, until {interval.end} on {WEEKDAYS[(interval.weekday + 1) % 7]}</span>
              )}
              <button type="button" data-variant="secondary" aria-label={`Remove interval ${n + 1}`} onClick={() => set({ ...draft, intervals: draft.intervals.filter((_, k) => k !== n) })}>
                Remove
              </button>
            </li>
          );
        })}
      </ul>
      <FieldError id={`${id}-intervals`} message={errors.intervals} />
      <div>
        <button
          type="button"
          data-variant="secondary"
          onClick={() => {
            const last = draft.intervals[draft.intervals.length - 1];
            set({ ...draft, intervals: [...draft.intervals, last ? { ...last } : { weekday: 0, start: "09:00", end: "17:00" }] });
          }}
        >
          Add interval
        </button>
      </div>
    </fieldset>
  );
}

function HolidaysEditor({ draft, set, errors, id }: { draft: CalendarDraft; set: (d: CalendarDraft) => void; errors: FieldErrors; id: string }) {
  const update = (n: number, next: HolidayDraft) => set({ ...draft, holidays: draft.holidays.map((h, k) => (k === n ? next : h)) });
  return (
    <fieldset className={styles.block}>
      <legend>Holidays (closed all day, local date)</legend>
      {draft.holidays.length === 0 && <p className={adminStyles.note}>No holidays yet.</p>}
      <ul className={styles.rows}>
        {draft.holidays.map((h, n) => {
          const error = errorAt(errors, `holidays.${n}`);
          return (
            <li key={n}>
              <label>
                Kind of holiday {n + 1}
                <select
                  value={h.kind}
                  onChange={(e) =>
                    update(n, e.target.value === "date" ? { kind: "date", date: "", name: h.name } : { kind: "yearly", month: 1, day: 1, name: h.name })
                  }
                >
                  <option value="date">One-off date</option>
                  <option value="yearly">Every year</option>
                </select>
              </label>
              {h.kind === "date" ? (
                <label>
                  Date of holiday {n + 1}
                  <input type="date" value={h.date} onChange={(e) => update(n, { ...h, date: e.target.value })} {...invalid(`${id}-h${n}`, error)} />
                </label>
              ) : (
                <>
                  <label>
                    Month of holiday {n + 1}
                    <select value={h.month} onChange={(e) => update(n, { ...h, month: Number(e.target.value) })}>
                      {MONTHS.map((m, k) => (
                        <option key={m} value={k + 1}>{m}</option>
                      ))}
                    </select>
                  </label>
                  <label>
                    Day of holiday {n + 1}
                    <input className={styles.short} type="number" min={1} max={31} value={h.day} onChange={(e) => update(n, { ...h, day: Number(e.target.value) })} {...invalid(`${id}-h${n}`, error)} />
                  </label>
                </>
              )}
              <label>
                Name of holiday {n + 1}
                <input value={h.name} maxLength={200} onChange={(e) => update(n, { ...h, name: e.target.value })} />
              </label>
              <button type="button" data-variant="secondary" aria-label={`Remove holiday ${n + 1}`} onClick={() => set({ ...draft, holidays: draft.holidays.filter((_, k) => k !== n) })}>
                Remove
              </button>
              <FieldError id={`${id}-h${n}`} message={error} />
            </li>
          );
        })}
      </ul>
      <FieldError id={`${id}-holidays`} message={errors.holidays} />
      <div>
        <button type="button" data-variant="secondary" onClick={() => set({ ...draft, holidays: [...draft.holidays, { kind: "date", date: "", name: "" }] })}>
          Add holiday
        </button>
      </div>
    </fieldset>
  );
}

function CalendarForm({ calendar, onSaved, onCancel }: { calendar: Calendar | null; onSaved: (name: string, recompute: string | null) => void; onCancel: () => void }) {
  const zones = useMemo(timeZones, []);
  const [draft, setDraft] = useState(() => calendarDraft(calendar, localZone()));
  const [tried, setTried] = useState(false); // after a first attempt, fields are checked as typed
  const local = tried ? validateCalendar(draft, zones) : {};
  const save = useSaveCalendar();
  const id = useId();
  const errors: FieldErrors = { ...problemFields(save.error), ...local };
  const title = calendar ? `Edit calendar ${calendar.name}` : "Create a calendar";

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const found = validateCalendar(draft, zones);
    setTried(true);
    save.reset();
    if (Object.keys(found).length > 0) return;
    const written = await save.mutateAsync({ id: calendar?.id ?? null, body: calendarBody(draft) });
    onSaved(written.name, (written as { recompute_id?: string | null }).recompute_id ?? null);
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
        <label htmlFor={`${id}-zone`}>Time zone</label>
        <div>
          <input
            id={`${id}-zone`}
            list={`${id}-zones`}
            value={draft.time_zone}
            autoComplete="off"
            onChange={(e) => setDraft({ ...draft, time_zone: e.target.value })}
            {...invalid(`${id}-zone-error`, errors.time_zone)}
          />
          <datalist id={`${id}-zones`}>
            {zones.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
          <FieldError id={`${id}-zone-error`} message={errors.time_zone} />
        </div>
      </div>
      <IntervalsEditor draft={draft} set={setDraft} errors={errors} id={id} />
      <HolidaysEditor draft={draft} set={setDraft} errors={errors} id={id} />
      {Object.keys(local).length > 0 && <p role="alert" className={styles.error}>Some fields need a change (marked above).</p>}
      {save.isError && <ProblemMessage error={save.error} />}
      <div className={adminStyles.row}>
        <button type="submit" disabled={save.isPending}>{calendar ? "Save calendar" : "Create calendar"}</button>
        {calendar && (
          <button type="button" data-variant="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

function SeedHolidays({ calendar, onSeeded }: { calendar: Calendar; onSeeded: (recompute: string | null, added: number) => void }) {
  const seed = useSeedHolidays();
  const id = useId();
  const errors = problemFields(seed.error);
  const thisYear = new Date().getFullYear();

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const years = String(data.get("years") ?? "")
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number);
    const written = await seed.mutateAsync({
      id: calendar.id,
      country: String(data.get("country") ?? "").trim().toUpperCase(),
      subdivision: String(data.get("subdivision") ?? "").trim().toUpperCase(),
      years,
    });
    onSeeded(written.recompute_id ?? null, written.holidays.length - calendar.holidays.length);
  }

  return (
    <form className={adminStyles.card} onSubmit={(e) => void submit(e).catch(() => undefined)} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Seed public holidays into {calendar.name}</h2>
      <div className={adminStyles.grid}>
        <label htmlFor={`${id}-country`}>Country (ISO code, e.g. DE)</label>
        <div>
          <input id={`${id}-country`} name="country" required maxLength={2} className={styles.short} {...invalid(`${id}-country-error`, errors.country)} />
          <FieldError id={`${id}-country-error`} message={errors.country} />
        </div>
        <label htmlFor={`${id}-subdivision`}>Subdivision (optional, e.g. BY)</label>
        <div>
          <input id={`${id}-subdivision`} name="subdivision" maxLength={10} className={styles.short} {...invalid(`${id}-sub-error`, errors.subdivision)} />
          <FieldError id={`${id}-sub-error`} message={errors.subdivision} />
        </div>
        <label htmlFor={`${id}-years`}>Years (comma-separated)</label>
        <div>
          <input id={`${id}-years`} name="years" required defaultValue={`${thisYear}, ${thisYear + 1}`} {...invalid(`${id}-years-error`, errorAt(errors, "years"))} />
          <FieldError id={`${id}-years-error`} message={errorAt(errors, "years")} />
        </div>
      </div>
      {seed.isError && <ProblemMessage error={seed.error} />}
      <div className={adminStyles.row}>
        <button type="submit" disabled={seed.isPending}>Add public holidays</button>
      </div>
    </form>
  );
}

function describeHours(calendar: Calendar): string {
  return calendar.intervals.map((i) => `${WEEKDAYS[i.weekday]?.slice(0, 3)} ${i.start}–${i.end}`).join(", ");
}

export function CalendarsPage() {
  const calendars = useCalendars();
  const remove = useDeleteCalendar();
  const [editing, setEditing] = useState<Calendar | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [recompute, setRecompute] = useState<string | null>(null);
  const [created, setCreated] = useState(0); // remounts the create form empty after a save
  useDocumentTitle("Calendars");

  const saved = (what: string) => (name: string, run: string | null) => {
    setNotice(`${what} ${name}.`);
    setRecompute(run);
    setEditing(null);
    setCreated((n) => n + 1);
  };

  return (
    <section aria-labelledby="calendars-title">
      <h1 id="calendars-title">Calendars</h1>
      <p>
        Business hours and holidays that <Link to="/admin/sla-policies">SLA policies</Link> count business time in. Changing a calendar a policy
        uses recomputes the deadlines of open tickets.
      </p>
      <div role="status">{notice}</div>
      {recompute && <RecomputeProgress id={recompute} />}
      {editing ? (
        <>
          <CalendarForm key={editing.id} calendar={editing} onSaved={saved("Saved")} onCancel={() => setEditing(null)} />
          <SeedHolidays
            calendar={editing}
            onSeeded={(run, added) => {
              setNotice(`Added ${added} public holiday${added === 1 ? "" : "s"} to ${editing.name}.`);
              setRecompute(run);
              setEditing(null);
            }}
          />
        </>
      ) : (
        <CalendarForm key={`new-${created}`} calendar={null} onSaved={saved("Created")} onCancel={() => undefined} />
      )}
      {remove.isError && <ProblemMessage error={remove.error} />}
      {calendars.isPending ? (
        <Loading label="Loading calendars" />
      ) : calendars.isError ? (
        <ProblemMessage error={calendars.error} retry={() => void calendars.refetch()} />
      ) : calendars.data.length === 0 ? (
        <EmptyState title="No calendars yet" />
      ) : (
        <div className={adminStyles.scroll} role="region" aria-label="Calendars, scrollable" tabIndex={0}>
          <table aria-label="Calendars">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Time zone</th>
                <th scope="col">Business hours</th>
                <th scope="col">Holidays</th>
                <th scope="col"><span className="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {calendars.data.map((c) => (
                <tr key={c.id}>
                  <td>{c.name}</td>
                  <td>{c.time_zone}</td>
                  <td>{describeHours(c)}</td>
                  <td>{c.holidays.length}</td>
                  <td>
                    <div className={adminStyles.row}>
                    <button type="button" data-variant="secondary" aria-label={`Edit ${c.name}`} onClick={() => { setNotice(null); setEditing(c); }}>
                      Edit
                    </button>
                    <button
                      type="button"
                      data-variant="secondary"
                      aria-label={`Delete ${c.name}`}
                      disabled={remove.isPending}
                      onClick={() => {
                        if (!window.confirm(`Delete the calendar ${c.name}?`)) return;
                        remove.mutate(c.id, { onSuccess: () => setNotice(`Deleted ${c.name}.`) });
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
    </section>
  );
}
