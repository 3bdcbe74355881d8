import type { QueryClient } from "@tanstack/react-query";
import type { components } from "../../lib/api/client";

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
 * (TanStack Query refetches only active queries; the others are marked stale). */
export function applyEvent(client: QueryClient, event: FeedEvent): void {
  const id = event.ticket_id;
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
