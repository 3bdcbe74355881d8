import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import { isNewsFor, markInLists, withUnread } from "./unread";

const A = "7b0e1c1e-0000-4000-8000-00000000000a";
const ME = "7b0e1c1e-0000-4000-8000-0000000000ee";

const list = (unread: boolean | undefined) => ({
  pages: [{ data: [{ id: A, unread }, { id: "other", unread: false }], meta: {} }],
  pageParams: [null],
});

describe("unread markers", () => {
  it("someone else's activity is news; mine, presence-like or delivery events are not", () => {
    const base = { ticket_id: A, actor_id: "someone" };
    expect(isNewsFor({ ...base, type: "ticket.updated" }, ME)).toBe(true);
    expect(isNewsFor({ ...base, type: "message.created" }, ME)).toBe(true);
    expect(isNewsFor({ ...base, type: "metadata.changed" }, ME)).toBe(true);
    expect(isNewsFor({ ...base, type: "message.created", actor_id: null }, ME)).toBe(true); // the system
    expect(isNewsFor({ ...base, type: "ticket.updated", actor_id: ME }, ME)).toBe(false);
    expect(isNewsFor({ ...base, type: "message.delivery" }, ME)).toBe(false);
    expect(isNewsFor({ ...base, type: "ticket.updated" }, null)).toBe(false);
  });

  it("flags one ticket, keeping the object when nothing changes", () => {
    const data = list(false);
    const marked = withUnread(data, A, true);
    expect(marked?.pages[0]?.data[0]).toEqual({ id: A, unread: true });
    expect(marked?.pages[0]?.data[1]).toBe(data.pages[0]?.data[1]);
    expect(withUnread(marked, A, true)).toBe(marked);
    expect(withUnread(data, "absent", true)).toBe(data);
    // A customer's list has no flag: left alone.
    const customers = list(undefined);
    expect(withUnread(customers, A, true)).toBe(customers);
    expect(withUnread(undefined, A, true)).toBeUndefined();
  });

  it("marks every cached list", () => {
    const client = new QueryClient();
    client.setQueryData(["tickets", "list", { sort: "-updated_at" }], list(false));
    client.setQueryData(["tickets", "list", { customer_id: "c" }], list(false));
    markInLists(client, A, true);
    for (const key of [{ sort: "-updated_at" }, { customer_id: "c" }]) {
      const data = client.getQueryData<ReturnType<typeof list>>(["tickets", "list", key]);
      expect(data?.pages[0]?.data[0]?.unread).toBe(true);
    }
  });
});
