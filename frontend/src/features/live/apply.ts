import type { QueryClient } from "@tanstack/react-query";
import type { components } from "../../lib/api/client";
import { isNewsFor, markInLists } from "../inbox/unread";

export type FeedEvent = components["schemas"]["EventRead"];
type TicketDetail = components["schemas"]["TicketDetail"];

/** A ticket.updated event's new values ({field: [old, new]} -> {field: new}). */
export function newValues(event: FeedEvent): Record<string, unknown> {
  const changes = (event.data.changes ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [field, pair] of Object.entries(changes)) {
    if (Array.isArray(pair) && pair.length === 2) out[field] = pair[1];
  }
  return out;
}

/** Bring the caches up to date with one committed change from the stream: the open ticket is
 * patched at once (fields and version), what the change can touch is refetched if on screen
 * (TanStack Query refetches only active queries; the others are marked stale). With `me` (staff),
 * a ticket someone else changed is marked unread in the cached lists. */
export function applyEvent(client: QueryClient, event: FeedEvent, me?: string | null): void {
  const id = event.ticket_id;
  // Someone else's change: unread in the inbox at once (the refetch below confirms it).
  if (id && isNewsFor(event, me)) markInLists(client, id, true);
  if (event.type === "ticket.updated") {
    const version = typeof event.data.version === "number" ? event.data.version : null;
    client.setQueryData<TicketDetail>(["tickets", id], (old) =>
      old && (version === null || old.version < version)
        ? { ...old, ...newValues(event), ...(version === null ? {} : { version }) }
        : old,
    );
  }
  if (event.type === "ticket.deleted") {
    client.removeQueries({ queryKey: ["tickets", id], exact: true });
  } else {
    void client.invalidateQueries({ queryKey: ["tickets", id] });
  }
  void client.invalidateQueries({ queryKey: ["tickets", "list"] });
  if (event.type !== "message.delivery" && event.type !== "attachment.added") {
    void client.invalidateQueries({ queryKey: ["tickets", "count"] });
  }
}

/** How long after a change the SLA worker has usually re-derived the ticket's deadlines (it
 * follows the feed about once a second; its derivations emit no event of their own). */
export const SLA_LAG_MS = 3000;

/** The tickets whose `sla` block a change will move, refetched once the worker has caught up:
 * `note` every applied event, `flush` after {@link SLA_LAG_MS} (one refetch per burst). The SLA
 * events themselves (`sla.warning`, `sla.breached`) come after the worker's write: nothing to
 * wait for. Staff only — customers never see the block. */
export class SlaFollowUp {
  private ids = new Set<string>();

  /** Remember the event's ticket; true when a flush should be scheduled (the first of a burst). */
  note(event: FeedEvent): boolean {
    if (event.type.startsWith("sla.") || event.type === "ticket.deleted" || !event.ticket_id) return false;
    const first = this.ids.size === 0;
    this.ids.add(event.ticket_id);
    return first;
  }

  flush(client: QueryClient): void {
    if (this.ids.size === 0) return;
    for (const id of this.ids) {
      void client.invalidateQueries({ queryKey: ["tickets", id], exact: true });
    }
    this.ids.clear();
    void client.invalidateQueries({ queryKey: ["tickets", "list"] });
  }
}
