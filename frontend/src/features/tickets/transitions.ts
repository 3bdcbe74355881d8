import { STATUSES, type Status } from "../inbox/filters";

/**
 * The statuses the signed-in user may pick for a ticket now (its current one included), as the
 * API's rule says: staff any (closed is terminal); a customer marks their ticket solved and
 * reopens a solved one — the API refuses anything else with `status-transition-forbidden`.
 */
export function statusChoices(staff: boolean, current: Status): Status[] {
  if (current === "closed") return ["closed"];
  if (staff) return [...STATUSES];
  if (current === "solved") return ["open", "solved"];
  return [current, "solved"];
}

/** A change that cannot be taken back, which the UI confirms first. */
export function isIrreversible(status: Status | undefined): boolean {
  return status === "closed";
}
