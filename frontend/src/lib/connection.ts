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
