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
