import { useQueryClient } from "@tanstack/react-query";
import { api, type components, unwrap } from "../../lib/api/client";
import { setCsrfToken } from "../../lib/csrf";
import { type Console, consoleKey, useConsole } from "../console/api";

export type Me = components["schemas"]["Me"];
/** The user lives in the console bootstrap's cache entry (null: no session). */
export const meKey = consoleKey;

const selectMe = (data: Console | null): Me | null => data?.me ?? null;

/** The signed-in user, or null when there is no (valid) session. */
export function useMe() {
  return useConsole(selectMe);
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
