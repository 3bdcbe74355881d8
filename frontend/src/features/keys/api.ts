import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type components, unwrap } from "../../lib/api/client";

export type ApiKey = components["schemas"]["ApiKeyRead"];
export type ApiKeyCreated = components["schemas"]["ApiKeyCreated"];
export type Scope = components["schemas"]["Scope"];

export const SCOPES: Scope[] = ["tickets:read", "tickets:write", "users:read", "users:write", "api_keys:write", "audit:read"];

export type KeyState = "active" | "revoked" | "expired";

export function keyState(key: ApiKey, now: Date = new Date()): KeyState {
  if (key.revoked_at) return "revoked";
  if (key.expires_at && new Date(key.expires_at) <= now) return "expired";
  return "active";
}

/** "in 23 hours", "in 5 minutes", "in 3 days": how long until `when`. */
export function timeUntil(when: string, now: Date = new Date()): string {
  const ms = new Date(when).getTime() - now.getTime();
  if (ms <= 0) return "now";
  const minutes = Math.ceil(ms / 60_000);
  const plural = (n: number, unit: string) => `in ${n} ${unit}${n === 1 ? "" : "s"}`;
  if (minutes < 60) return plural(minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (hours < 48) return plural(hours, "hour");
  return plural(Math.round(hours / 24), "day");
}

/** Ids of live keys that a rotation replaced (another key was rotated from them): they work
 * only until their grace period ends. */
export function replacedKeys(keys: ApiKey[], now: Date = new Date()): Set<string> {
  const live = keys.filter((k) => keyState(k, now) === "active");
  return new Set(live.flatMap((k) => (k.rotated_from_id && live.some((o) => o.id === k.rotated_from_id) ? [k.rotated_from_id] : [])));
}

/** How a key is named on buttons and in dialogs: its name and prefix, which tell rotated
 * keys of one name apart. */
export function keyLabel(key: ApiKey): string {
  return `${key.name} (${key.prefix}…)`;
}

export function useKeys() {
  return useQuery({ queryKey: ["api-keys"], queryFn: () => unwrap(api.GET("/api/v1/api-keys")) });
}

export function useCreateKey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: components["schemas"]["ApiKeyCreate"]) => unwrap(api.POST("/api/v1/api-keys", { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["api-keys"] }),
  });
}

export function useRotateKey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, grace }: { id: string; grace: number }) =>
      unwrap(
        api.POST("/api/v1/api-keys/{key_id}/rotate", {
          params: { path: { key_id: id } },
          body: { grace_period_seconds: grace },
        }),
      ),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["api-keys"] }),
  });
}

export function useRevokeKey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/v1/api-keys/{key_id}", { params: { path: { key_id: id } } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["api-keys"] }),
  });
}
