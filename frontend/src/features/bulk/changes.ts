// The bulk bar's form → the API's `changes`, and the API's per-ticket results → what we say.
import type { components } from "../../lib/api/client";

export type BulkChanges = components["schemas"]["TicketBulkChanges"];
export type BulkResult = components["schemas"]["TicketBulkResult"];
export type BulkItem = components["schemas"]["TicketBulkItem"];

export const MAX_BULK = 100;
const TAG = /^[a-z0-9][a-z0-9_.:-]{0,49}$/;
/** The assignee / team selects: "" = leave as is, NONE = unassign / no team. */
export const NONE = "none";

export interface BulkForm {
  status: string;
  priority: string;
  assignee: string;
  team: string;
  addTag: string;
  removeTag: string;
}

export const EMPTY_FORM: BulkForm = { status: "", priority: "", assignee: "", team: "", addTag: "", removeTag: "" };

/** The changes the form asks for, or the reason it cannot be sent. */
export function toChanges(form: BulkForm): { changes: BulkChanges } | { error: string } {
  const changes: BulkChanges = {};
  if (form.status) changes.status = form.status as BulkChanges["status"];
  if (form.priority) changes.priority = form.priority as BulkChanges["priority"];
  if (form.assignee) changes.assigned_to = form.assignee === NONE ? null : form.assignee;
  if (form.team) changes.team_id = form.team === NONE ? null : form.team;
  const add = form.addTag.trim().toLowerCase();
  const remove = form.removeTag.trim().toLowerCase();
  for (const tag of [add, remove]) {
    if (tag && !TAG.test(tag)) {
      return { error: `"${tag}" is not a tag: lower-case letters, digits and . _ : - (at most 50).` };
    }
  }
  if (add && add === remove) return { error: "The same tag cannot be added and removed." };
  if (add) changes.add_tags = [add];
  if (remove) changes.remove_tags = [remove];
  if (Object.keys(changes).length === 0) return { error: "Choose a change first." };
  return { changes };
}

const OUTCOME_WORDS: Record<BulkItem["outcome"], string> = {
  updated: "changed",
  unchanged: "already so",
  not_found: "not found",
  conflict: "closed",
  invalid: "refused",
};

/** One sentence for the live region, e.g. "3 tickets changed, 1 already so, 1 closed." */
export function summarize(result: BulkResult): string {
  const counts = new Map<BulkItem["outcome"], number>();
  for (const item of result.results) counts.set(item.outcome, (counts.get(item.outcome) ?? 0) + 1);
  const parts: string[] = [];
  for (const outcome of ["updated", "unchanged", "conflict", "not_found", "invalid"] as const) {
    const n = counts.get(outcome);
    if (!n) continue;
    const words = OUTCOME_WORDS[outcome];
    parts.push(parts.length === 0 ? `${n} ${n === 1 ? "ticket" : "tickets"} ${words}` : `${n} ${words}`);
  }
  return parts.length ? `${parts.join(", ")}.` : "Nothing to change.";
}

/** The tickets that were not changed, with the reason (shown as a list under the bar). */
export function failures(result: BulkResult): { ticketId: string; reason: string }[] {
  return result.results
    .filter((item) => item.problem)
    .map((item) => ({ ticketId: item.ticket_id, reason: item.problem?.detail ?? OUTCOME_WORDS[item.outcome] }));
}
