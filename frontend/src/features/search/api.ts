import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, type components, unwrap } from "../../lib/api/client";

export type SearchHit = components["schemas"]["SearchHit"];
export type SearchScope = components["schemas"]["SearchScope"];

/** Ranked search over the tickets the caller may see (and their messages). */
export function useSearch(q: string, scope: SearchScope) {
  return useQuery({
    queryKey: ["tickets", "search", q, scope],
    enabled: q.trim().length > 0,
    staleTime: 10_000,
    placeholderData: keepPreviousData,
    queryFn: () => unwrap(api.GET("/api/v1/tickets/search", { params: { query: { q, scope, limit: 30 } } })),
  });
}
