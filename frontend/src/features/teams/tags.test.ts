import { describe, expect, it } from "vitest";
import { collectTags, ticketsInCache } from "./tags";

describe("tag suggestions", () => {
  it("orders by use, then name, and caps the list", () => {
    const tickets = [{ tags: ["vip", "billing"] }, { tags: ["vip"] }, { tags: ["a"] }, { tags: null }];
    expect(collectTags(tickets)).toEqual(["vip", "a", "billing"]);
    expect(collectTags(tickets, 1)).toEqual(["vip"]);
  });

  it("finds tickets in list pages and in single-ticket entries", () => {
    const list = { pages: [{ data: [{ tags: ["x"] }] }, { data: [{ tags: ["y"] }] }], pageParams: [] };
    expect(ticketsInCache([list, { id: "t", tags: ["z"] }, undefined, { history: [] }])).toEqual([
      { tags: ["x"] },
      { tags: ["y"] },
      { id: "t", tags: ["z"] },
    ]);
  });
});
