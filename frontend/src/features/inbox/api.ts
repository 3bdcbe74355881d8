import { useInfiniteQuery, useQueries } from "@tanstack/react-query";
import { api, type components, unwrap } from "../../lib/api/client";
import { STATUSES, type TicketListQuery } from "./filters";

export type Ticket = components["schemas"]["TicketRead"];

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

export const COUNT_CAP = 100;

/**
 * Tickets per status under the other filters. The API has no count endpoint: each status is a
 * capped keyset list (limit 100) and shows "100+" beyond that.
 */
export function useStatusCounts(query: TicketListQuery) {
  const { status: _ignored, ...rest } = query;
  return useQueries({
    queries: STATUSES.map((status) => ({
      queryKey: ["tickets", "count", status, rest],
      staleTime: 30_000,
      queryFn: async () => {
        const page = await unwrap(
          api.GET("/api/v1/tickets", { params: { query: { ...rest, status, limit: COUNT_CAP } } }),
        );
        return { status, length: page.data.length, hasMore: page.meta.has_more };
      },
    })),
  });
}
