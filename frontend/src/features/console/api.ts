import { type QueryClient, useQuery } from "@tanstack/react-query";
import { api, type components, unwrap } from "../../lib/api/client";
import { ApiError } from "../../lib/api/problem";

export type Console = components["schemas"]["ConsoleRead"];
export const consoleKey = ["console"] as const;

/** The console bootstrap (`GET /api/v1/console`): the signed-in user, the teams, the staff
 * directory and the saved views in one request, the one cache every page reads them from.
 * Null when there is no (valid) session. Presence is not here: the live stream starts with it. */
export const consoleQuery = {
  queryKey: consoleKey,
  queryFn: async (): Promise<Console | null> => {
    try {
      return await unwrap(api.GET("/api/v1/console"));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return null;
      throw err;
    }
  },
  staleTime: 60_000,
  retry: false,
};

/** One part of the bootstrap (`select` should be a stable function: it is memoized by identity). */
export function useConsole<T>(select: (data: Console | null) => T, enabled = true) {
  return useQuery({ ...consoleQuery, select, enabled });
}

/** After a change to teams or views: read the bootstrap again (one request for all of it). */
export function refreshConsole(client: QueryClient): Promise<void> {
  return client.invalidateQueries({ queryKey: consoleKey });
}
