import { useQueryClient } from "@tanstack/react-query";
import { collectTags, ticketsInCache } from "./tags";

/** Tags seen on the tickets already loaded (suggestions for tag inputs; read on render). */
export function useKnownTags(): string[] {
  const client = useQueryClient();
  return collectTags(ticketsInCache(client.getQueriesData({ queryKey: ["tickets"] }).map(([, data]) => data)));
}
