import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { api, unwrap } from "../../lib/api/client";
import { markInLists } from "../inbox/unread";

// The read marker in flight per ticket: "mark as unread" waits for it, so that a late marker
// never reads the ticket again after it was marked unread.
const inFlight = new Map<string, Promise<unknown>>();

/** Tell the server that the signed-in agent has read the ticket up to the `version` on screen:
 * sent on opening it and again whenever a newer version is shown (a change seen live is read).
 * Staff only; the ticket's lists show it read at once. */
export function useMarkRead(ticketId: string, version: number | undefined, enabled: boolean): void {
  const client = useQueryClient();
  useEffect(() => {
    if (!enabled || version === undefined) return;
    markInLists(client, ticketId, false);
    const sent = unwrap(
      api.PUT("/api/v1/tickets/{ticket_id}/read", { params: { path: { ticket_id: ticketId } }, body: { version } }),
    )
      .then((marker) => {
        if (marker.unread) markInLists(client, ticketId, true); // it changed meanwhile
        void client.invalidateQueries({ queryKey: ["tickets", "list"], refetchType: "none" });
      })
      .catch(() => undefined) // a marker is a convenience: the next visit sends it again
      .finally(() => {
        if (inFlight.get(ticketId) === sent) inFlight.delete(ticketId);
      });
    inFlight.set(ticketId, sent);
  }, [client, ticketId, version, enabled]);
}

/** "Mark as unread": forget the agent's read marker (until they open the ticket again). */
export function useMarkUnread(ticketId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      await inFlight.get(ticketId);
      return unwrap(api.DELETE("/api/v1/tickets/{ticket_id}/read", { params: { path: { ticket_id: ticketId } } }));
    },
    onSuccess: () => {
      markInLists(client, ticketId, true);
      void client.invalidateQueries({ queryKey: ["tickets", "list"], refetchType: "none" });
    },
  });
}
