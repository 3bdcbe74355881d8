// The SLA countdown of a ticket (its `sla` block, staff only): which deadline comes first and
// how it reads — in words, so that the colour is never the only signal.
import type { components } from "../../lib/api/client";

export type TicketSla = components["schemas"]["TicketSla"];
export type SlaKind = "first_response" | "next_response" | "resolution";

/** `breached`: overdue or a target already missed; `soon`: due within the warning window. */
export type SlaTone = "breached" | "soon" | "ok" | "paused";

export interface SlaBadgeState {
  tone: SlaTone;
  /** Short text shown in the badge, e.g. "due in 2 h 10 m". */
  text: string;
  /** The whole sentence for assistive technology and the tooltip. */
  label: string;
}

const KIND_NAMES: Record<SlaKind, string> = {
  first_response: "first response",
  next_response: "next response",
  resolution: "resolution",
};

/** Due within this much time counts as "soon" (amber). */
export const SOON_MS = 60 * 60 * 1000;

/** A duration in whole minutes, coarsest two units: "< 1 m", "45 m", "2 h 10 m", "3 d 4 h". */
export function formatDuration(ms: number): string {
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  if (minutes < 1) return "< 1 m";
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return rest > 0 ? `${hours} h ${rest} m` : `${hours} h`;
  return `${rest} m`;
}

/** The earliest running deadline of the block and its kind (null: none runs). */
export function earliestDeadline(sla: TicketSla): { kind: SlaKind; at: number } | null {
  let best: { kind: SlaKind; at: number } | null = null;
  for (const kind of Object.keys(KIND_NAMES) as SlaKind[]) {
    const raw = sla[`${kind}_due_at`];
    if (!raw) continue;
    const at = Date.parse(raw);
    if (!Number.isNaN(at) && (best === null || at < best.at)) best = { kind, at };
  }
  return best;
}

/** What the badge shows at `now` (ms since the epoch); null when there is nothing to show. */
export function slaBadge(sla: TicketSla | null | undefined, now: number, soonMs = SOON_MS): SlaBadgeState | null {
  if (!sla) return null;
  const missed = (sla.breached ?? []).map((k) => KIND_NAMES[k]);
  const missedNote = missed.length ? `; missed: ${missed.join(", ")}` : "";
  const next = earliestDeadline(sla);
  if (next !== null) {
    const what = KIND_NAMES[next.kind];
    const left = next.at - now;
    if (left <= 0) {
      const ago = formatDuration(-left);
      const text = ago === "< 1 m" ? "breached just now" : `breached ${ago} ago`;
      return { tone: "breached", text, label: `SLA ${what} ${text}${missedNote}` };
    }
    const text = `due in ${formatDuration(left)}`;
    const tone: SlaTone = missed.length ? "breached" : left <= soonMs ? "soon" : "ok";
    return { tone, text, label: `SLA ${what} ${text}${missedNote}` };
  }
  if (sla.paused) {
    return { tone: "paused", text: "paused", label: `SLA paused (waiting on the customer)${missedNote}` };
  }
  if (missed.length) {
    return { tone: "breached", text: "missed", label: `SLA target missed: ${missed.join(", ")}` };
  }
  return null;
}
