import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import { type FeedEvent, applyEvent, newValues } from "./apply";

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

  it("a new message marks the thread stale", () => {
    const client = new QueryClient();
    client.setQueryData(["tickets", TICKET, "messages"], { pages: [] });
    applyEvent(client, event("message.created", { message_id: "m", is_internal: false }));
    expect(client.getQueryState(["tickets", TICKET, "messages"])?.isInvalidated).toBe(true);
  });
});
