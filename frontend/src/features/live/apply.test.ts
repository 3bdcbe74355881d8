import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import { type FeedEvent, SlaFollowUp, applyEvent, newValues } from "./apply";

const TICKET = "7b0e1c1e-0000-4000-8000-000000000001";

function event(type: string, data: Record<string, unknown>): FeedEvent {
  return {
    id: 1,
    type: type as FeedEvent["type"],
    occurred_at: "2026-12-07T10:00:00Z",
    ticket_id: TICKET,
    actor_id: null,
    data,
    cursor: "c1",
  };
}

describe("live updates", () => {
  it("takes the new value of each changed field", () => {
    expect(newValues(event("ticket.updated", { changes: { priority: ["low", "urgent"] }, version: 3 }))).toEqual({
      priority: "urgent",
    });
  });

  it("patches the open ticket only forward in versions, and marks its queries and the lists stale", () => {
    const client = new QueryClient();
    client.setQueryData(["tickets", TICKET], { id: TICKET, priority: "low", version: 2 });
    client.setQueryData(["tickets", TICKET, "messages"], { pages: [] });
    client.setQueryData(["tickets", "list", {}], { pages: [] });
    applyEvent(client, event("ticket.updated", { changes: { priority: ["low", "urgent"] }, version: 3 }));
    expect(client.getQueryData(["tickets", TICKET])).toEqual({ id: TICKET, priority: "urgent", version: 3 });
    expect(client.getQueryState(["tickets", TICKET, "messages"])?.isInvalidated).toBe(true);
    expect(client.getQueryState(["tickets", "list", {}])?.isInvalidated).toBe(true);
    // An older change arriving late never rolls the ticket back.
    applyEvent(client, event("ticket.updated", { changes: { priority: ["x", "low"] }, version: 2 }));
    expect(client.getQueryData(["tickets", TICKET])).toMatchObject({ priority: "urgent", version: 3 });
  });

  it("someone else's change marks the ticket unread in the cached lists; my own does not", () => {
    const client = new QueryClient();
    const me = "7b0e1c1e-0000-4000-8000-0000000000ee";
    const page = { pages: [{ data: [{ id: TICKET, unread: false }], meta: {} }], pageParams: [null] };
    const unread = () =>
      client.getQueryData<typeof page>(["tickets", "list", {}])?.pages[0]?.data[0]?.unread;
    client.setQueryData(["tickets", "list", {}], page);
    applyEvent(client, { ...event("message.created", { message_id: "m" }), actor_id: me }, me);
    expect(unread()).toBe(false);
    applyEvent(client, { ...event("message.created", { message_id: "m" }), actor_id: "other" }, me);
    expect(unread()).toBe(true);
  });

  it("a new message marks the thread stale", () => {
    const client = new QueryClient();
    client.setQueryData(["tickets", TICKET, "messages"], { pages: [] });
    applyEvent(client, event("message.created", { message_id: "m", is_internal: false }));
    expect(client.getQueryState(["tickets", TICKET, "messages"])?.isInvalidated).toBe(true);
  });

  it("refetches a changed ticket once more when the SLA worker has caught up, once per burst", () => {
    const client = new QueryClient();
    const other = "7b0e1c1e-0000-4000-8000-000000000002";
    const follow = new SlaFollowUp();
    expect(follow.note(event("message.created", { message_id: "m" }))).toBe(true); // schedule
    expect(follow.note(event("ticket.updated", { changes: {}, version: 4 }))).toBe(false); // same burst
    expect(follow.note({ ...event("ticket.updated", {}), ticket_id: other })).toBe(false);
    expect(follow.note(event("sla.breached", { kind: "first_response" }))).toBe(false); // already fresh
    client.setQueryData(["tickets", TICKET], { id: TICKET, version: 4 });
    client.setQueryData(["tickets", other], { id: other, version: 1 });
    client.setQueryData(["tickets", TICKET, "messages"], { pages: [] });
    client.setQueryData(["tickets", "list", {}], { pages: [] });
    follow.flush(client);
    expect(client.getQueryState(["tickets", TICKET])?.isInvalidated).toBe(true);
    expect(client.getQueryState(["tickets", other])?.isInvalidated).toBe(true);
    expect(client.getQueryState(["tickets", "list", {}])?.isInvalidated).toBe(true);
    expect(client.getQueryState(["tickets", TICKET, "messages"])?.isInvalidated).toBe(false);
    // The next change starts a new burst.
    expect(follow.note(event("ticket.updated", {}))).toBe(true);
  });
});
