import type { InfiniteData, QueryClient } from "@tanstack/react-query";
import type { components } from "../../lib/api/client";

type FeedEvent = components["schemas"]["EventRead"];
type ListItem = { id: string; unread?: boolean | null };
type ListPage = { data: ListItem[] };

/** The feed events that are activity on a ticket (each bumps its version, so the server counts
 * it unread for everyone who had read it — except whoever made it). */
const ACTIVITY = new Set<string>(["ticket.updated", "message.created", "metadata.changed"]);

/** True when `event` is someone else's activity on a ticket: news for `me` (a system or rule
 * change, with no actor, is news too). */
export function isNewsFor(event: Pick<FeedEvent, "type" | "actor_id" | "ticket_id">, me: string | null | undefined): boolean {
  return Boolean(me) && Boolean(event.ticket_id) && ACTIVITY.has(event.type) && event.actor_id !== me;
}

/** `data` (a cached ticket list: infinite pages of items) with ticket `id` marked `unread`; the
 * same object when nothing changes (TanStack Query then re-renders nothing). Items without the
 * flag (a customer's list) are left alone. */
export function withUnread<T extends InfiniteData<ListPage>>(data: T | undefined, id: string, unread: boolean): T | undefined {
  if (!data || !Array.isArray(data.pages)) return data;
  let changed = false;
  const pages = data.pages.map((page) => {
    if (!page || !Array.isArray(page.data)) return page;
    let pageChanged = false;
    const items = page.data.map((item) => {
      if (item.id !== id || typeof item.unread !== "boolean" || item.unread === unread) return item;
      pageChanged = true;
      return { ...item, unread };
    });
    if (!pageChanged) return page;
    changed = true;
    return { ...page, data: items };
  });
  return changed ? { ...data, pages } : data;
}

/** Mark a ticket read or unread in every cached ticket list at once (the server's answer, on
 * the next refetch, is the truth). */
export function markInLists(client: QueryClient, id: string, unread: boolean): void {
  client.setQueriesData<InfiniteData<ListPage>>({ queryKey: ["tickets", "list"] }, (old) => withUnread(old, id, unread));
}
