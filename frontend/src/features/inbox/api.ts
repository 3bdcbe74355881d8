import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api, type components, unwrap } from "../../lib/api/client";
import type { TicketListQuery } from "./filters";

export type Ticket = components["schemas"]["TicketListItem"];

export function useTicketList(query: TicketListQuery) {
  return useInfiniteQuery({
    queryKey: ["tickets", "list", query],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/tickets", {
          params: { query: { ...query, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      ),
    getNextPageParam: (last) => (last.meta.has_more ? last.meta.next_cursor : null),
    staleTime: 10_000,
  });
}

export type StatusCount = components["schemas"]["StatusCount"];

/** Tickets per status under the other filters: one request to the counts endpoint, exact up to
 * its cap ("1000+" beyond). */
export function useStatusCounts(query: TicketListQuery) {
  const { status: _ignored, sort: _sort, limit: _limit, ...rest } = query;
  return useQuery({
    queryKey: ["tickets", "count", rest],
    staleTime: 30_000,
    queryFn: async () => {
      const body = await unwrap(api.GET("/api/v1/tickets/counts", { params: { query: { ...rest, by: "status" } } }));
      return new Map<string, StatusCount>(body.counts.map((c) => [c.status, c]));
    },
  });
}
