import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type components, unwrap } from "../../lib/api/client";
import { ApiError } from "../../lib/api/problem";
import { setCsrfToken } from "../../lib/csrf";

export type Me = components["schemas"]["Me"];
export const meKey = ["me"] as const;

/** The signed-in user, or null when there is no (valid) session. */
export function useMe() {
  return useQuery({
    queryKey: meKey,
    queryFn: async (): Promise<Me | null> => {
      try {
        return await unwrap(api.GET("/api/v1/auth/me"));
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return null;
        throw err;
      }
    },
    staleTime: 60_000,
    retry: false,
  });
}

export async function signIn(email: string, password: string) {
  const result = await unwrap(
    api.POST("/api/v1/auth/login", { body: { email, password } }),
  );
  setCsrfToken(result.csrf_token);
  return result;
}

export function useSignOut() {
  const client = useQueryClient();
  return async () => {
    try {
      await unwrap(api.POST("/api/v1/auth/logout"));
    } catch {
      // the session may already be gone; signing out locally is what matters
    }
    setCsrfToken(null);
    client.clear();
    client.setQueryData(meKey, null);
  };
}

export function isStaff(me: Me | null | undefined): boolean {
  return me?.role === "admin" || me?.role === "agent";
}
