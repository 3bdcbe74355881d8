import { slaBadge, type TicketSla } from "./sla";
import styles from "./SlaBadge.module.css";

/** The SLA countdown: colour and words ("due in 2 h 10 m", "breached 15 m ago", "paused").
 * `now` comes from the page (one timer for every badge); nothing is shown without a deadline. */
export function SlaBadge({ sla, now }: { sla: TicketSla | null | undefined; now: number }) {
  const state = slaBadge(sla, now);
  if (!state) return null;
  return (
    <span className={styles.sla} data-tone={state.tone} title={state.label}>
      <span aria-hidden="true">{state.text}</span>
      <span className="visually-hidden">{state.label}</span>
    </span>
  );
}
