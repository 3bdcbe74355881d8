import { useSyncExternalStore } from "react";

/** Whether the API answers: set by the API client on network failures and 5xx answers. */
export type Connection = { state: "ok" } | { state: "offline" | "server-error"; detail: string };

let current: Connection = { state: "ok" };
const listeners = new Set<() => void>();

export function reportConnection(next: Connection): void {
  if (next.state === current.state && (next.state === "ok" || current.state === "ok")) return;
  current = next;
  for (const listener of listeners) listener();
}

/** A good answer clears a server-error banner, but not "offline" while the browser is offline
 * (answers from the HTTP cache still arrive then). */
export function reportHealthy(): void {
  if (current.state === "ok") return;
  if (current.state === "server-error" || navigator.onLine) reportConnection({ state: "ok" });
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  const online = () => reportConnection({ state: "ok" });
  const offline = () =>
    reportConnection({ state: "offline", detail: "You are offline. Changes cannot be saved." });
  window.addEventListener("online", online);
  window.addEventListener("offline", offline);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("online", online);
    window.removeEventListener("offline", offline);
  };
}

export function useConnection(): Connection {
  return useSyncExternalStore(subscribe, () => current);
}
