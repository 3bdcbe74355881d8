import { type QueryClient, useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, type components, unwrap } from "../../lib/api/client";
import { getCsrfToken } from "../../lib/csrf";

export type Presence = components["schemas"]["PresenceRead"];
export type PresenceState = Presence["state"];
export const presenceKey = ["presence"] as const;

/** A presence change as the stream sends it (`state` null: that person left the ticket). */
export interface PresenceMessage {
  ticket_id: string;
  user_id: string;
  state: PresenceState | null;
  expires_at?: string;
}

/** Everyone on every ticket now (staff only): no request of its own — the live stream's first
 * message (`presence-snapshot`) fills it, and its presence messages keep it current. */
export function usePresence(enabled: boolean) {
  return useQuery({
    queryKey: presenceKey,
    enabled: false,
    staleTime: Number.POSITIVE_INFINITY,
    queryFn: (): Presence[] => [],
    select: (list: Presence[]) => (enabled ? list : []),
  });
}

/** The stream's first message: everyone present now (replaces what we had). */
export function applyPresenceSnapshot(client: QueryClient, list: components["schemas"]["PresenceList"]): void {
  client.setQueryData<Presence[]>(presenceKey, list.data);
}

/** Apply one presence message to the cached list (replace that person's entry on that ticket). */
export function applyPresence(client: QueryClient, message: PresenceMessage): void {
  client.setQueryData<Presence[]>(presenceKey, (old) => {
    if (!old) return old;
    const rest = old.filter((p) => !(p.ticket_id === message.ticket_id && p.user_id === message.user_id));
    if (message.state === null || !message.expires_at) return rest;
    return [...rest, { ticket_id: message.ticket_id, user_id: message.user_id, state: message.state, expires_at: message.expires_at }];
  });
}

/** The presences not yet expired at `now`, on `ticketId`, without `me`. */
export function othersOn(list: Presence[] | undefined, ticketId: string, me: string | undefined, now: number): Presence[] {
  return (list ?? []).filter((p) => p.ticket_id === ticketId && p.user_id !== me && Date.parse(p.expires_at) > now);
}

/** "Ana is viewing", "Ana is viewing, Ben is replying…". */
export function describePresence(list: Presence[], name: (id: string) => string): string {
  return list
    .slice()
    .sort((a, b) => name(a.user_id).localeCompare(name(b.user_id)))
    .map((p) => `${name(p.user_id)} ${p.state === "replying" ? "is replying…" : "is viewing"}`)
    .join(", ");
}

/** The current time, moving every `everyMs`: expired presence disappears on screen (a clock for
 * the view, not a request loop). */
export function useNow(everyMs = 5000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(timer);
  }, [everyMs]);
  return now;
}

function leave(ticketId: string): void {
  const token = getCsrfToken();
  // keepalive: the request outlives a closing tab (sendBeacon cannot send the CSRF header).
  void fetch(`/api/v1/tickets/${ticketId}/presence`, {
    method: "DELETE",
    keepalive: true,
    credentials: "same-origin",
    headers: token ? { "X-CSRF-Token": token } : {},
  }).catch(() => undefined);
}

/** Tell the others that we are on this ticket (viewing or replying), renewed within the server's
 * expiry; said to be gone when the page goes (a tab that dies silently expires by itself). */
export function usePresenceReporter(ticketId: string, state: PresenceState, enabled: boolean): void {
  const [ttl, setTtl] = useState(30);
  useEffect(() => {
    if (!enabled) return;
    let stopped = false;
    const say = () =>
      unwrap(api.PUT("/api/v1/tickets/{ticket_id}/presence", { params: { path: { ticket_id: ticketId } }, body: { state } }))
        .then((list) => {
          if (!stopped && list.ttl_s !== ttl) setTtl(list.ttl_s);
        })
        .catch(() => undefined);
    void say();
    const timer = window.setInterval(() => void say(), Math.max(1000, (ttl * 1000) / 3));
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [ticketId, state, enabled, ttl]);
  useEffect(() => {
    if (!enabled) return;
    const gone = () => leave(ticketId);
    window.addEventListener("pagehide", gone);
    return () => {
      window.removeEventListener("pagehide", gone);
      gone();
    };
  }, [ticketId, enabled]);
}
