import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../lib/api/client";
import type { BulkChanges } from "./changes";

/** One request for many tickets; the lists, counts and the changed tickets are fetched again. */
export function useBulkUpdate() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ ids, changes }: { ids: string[]; changes: BulkChanges }) =>
      unwrap(api.POST("/api/v1/tickets/bulk", { body: { ticket_ids: ids, changes } })),
    onSuccess: (result) => {
      for (const item of result.results) {
        if (item.outcome === "updated") void client.invalidateQueries({ queryKey: ["tickets", item.ticket_id] });
      }
      void client.invalidateQueries({ queryKey: ["tickets", "list"] });
      void client.invalidateQueries({ queryKey: ["tickets", "count"] });
    },
  });
}
