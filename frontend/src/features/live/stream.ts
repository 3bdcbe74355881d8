import type { QueryClient } from "@tanstack/react-query";
import { type FeedEvent, SLA_LAG_MS, SlaFollowUp, applyEvent } from "./apply";
import { type PresenceMessage, applyPresence, applyPresenceSnapshot } from "./presence";

export const STREAM_URL = "/api/v1/events/stream";
const MAX_BACKOFF_MS = 30_000;

/** The change feed pushed by the server (Server-Sent Events) applied to the query caches: the
 * inbox and an open ticket follow other people's changes without reloading, and without a
 * polling loop. The browser reconnects by itself with Last-Event-ID (nothing missed, nothing
 * twice); when the server refused the connection (e.g. during a restart) we open a new one
 * after a backoff, resuming after the last event we applied. */
export function startLiveUpdates(client: QueryClient, presence: boolean, me: string | null): () => void {
  // `presence` is on for staff: they also get presence, and the SLA follow-up refetch.
  if (typeof EventSource === "undefined") return () => undefined;
  let source: EventSource | null = null;
  let last: string | null = null;
  let failures = 0;
  let timer: number | undefined;
  let stopped = false;
  // Staff see SLA deadlines, which the worker moves about a second after each change.
  const sla = presence ? new SlaFollowUp() : null;
  let slaTimer: number | undefined;

  const open = () => {
    const query = new URLSearchParams();
    if (last) query.set("after", last);
    if (presence) query.set("presence", "true");
    const url = query.size ? `${STREAM_URL}?${query.toString()}` : STREAM_URL;
    const current = new EventSource(url, { withCredentials: true });
    source = current;
    current.addEventListener("ready", (e) => {
      failures = 0;
      if (last === null) last = (e as MessageEvent).lastEventId || null;
    });
    current.onmessage = (e: MessageEvent<string>) => {
      last = e.lastEventId || last;
      try {
        const event = JSON.parse(e.data) as FeedEvent;
        applyEvent(client, event, presence ? me : null);
        if (sla?.note(event)) slaTimer = window.setTimeout(() => sla.flush(client), SLA_LAG_MS);
      } catch {
        // a malformed message is skipped; the next refetch shows the truth
      }
    };
    // Every connection (reconnections too) starts with everyone present now.
    current.addEventListener("presence-snapshot", (e) => {
      try {
        applyPresenceSnapshot(client, JSON.parse((e as MessageEvent<string>).data));
      } catch {
        // skipped; the next connection sends it again
      }
    });
    current.addEventListener("presence", (e) => {
      try {
        applyPresence(client, JSON.parse((e as MessageEvent<string>).data) as PresenceMessage);
      } catch {
        // skipped; presence expires by itself
      }
    });
    current.onerror = () => {
      if (current.readyState !== EventSource.CLOSED || stopped) return; // the browser retries
      failures += 1;
      const wait = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(failures, 5));
      timer = window.setTimeout(open, wait);
    };
  };
  open();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    window.clearTimeout(slaTimer);
    source?.close();
  };
}
