import { describe, expect, it } from "vitest";
import { AGENT_DEFAULTS, CUSTOMER_SORTS, DEFAULT_FILTERS, type InboxFilters, parseFilters } from "../inbox/filters";
import { filtersFromViewQuery, filtersNotShown, matchingView, paramsForView, reorder, viewQueryFromFilters } from "./mapping";

const ME = "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b11";
const TEAM = "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b20";
const CUSTOMER = "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b30";

const busy: InboxFilters = {
  status: ["new", "open"],
  priority: "urgent",
  assignee: "me",
  q: " refund ",
  sort: "sla_due",
  tag: "vip",
  team: TEAM,
  customer: CUSTOMER,
};

describe("viewQueryFromFilters", () => {
  it("stores the list's parameters, 'me' as the user's id, and leaves defaults out", () => {
    expect(viewQueryFromFilters(busy, ME)).toEqual({
      status: ["new", "open"],
      priority: "urgent",
      assigned_to: ME,
      q: "refund",
      q_scope: "all",
      tag: ["vip"],
      team_id: TEAM,
      customer_id: CUSTOMER,
      sort: "sla_due",
    });
    expect(viewQueryFromFilters(DEFAULT_FILTERS, ME)).toEqual({});
  });

  it("saves every status as no status filter", () => {
    expect(viewQueryFromFilters({ ...AGENT_DEFAULTS, status: [] }, ME)).toEqual({});
  });
});

describe("filtersFromViewQuery", () => {
  it("round-trips the inbox's filters", () => {
    expect(filtersFromViewQuery(viewQueryFromFilters(busy, ME), ME)).toEqual({ ...busy, q: "refund" });
    const someone = { ...busy, assignee: "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b99" };
    expect(filtersFromViewQuery(viewQueryFromFilters(someone, ME), ME).assignee).toBe(someone.assignee);
  });

  it("falls back on what the inbox cannot show", () => {
    expect(filtersFromViewQuery({ sort: "sla_due" }, ME, CUSTOMER_SORTS).sort).toBe("-updated_at");
    expect(filtersFromViewQuery({ tag: ["a", "b"] }, ME).tag).toBe("a");
  });
});

describe("paramsForView", () => {
  it("shows a view without statuses as every status, not the agent's open default", () => {
    const params = paramsForView({ priority: "high" }, ME, AGENT_DEFAULTS);
    expect(params.toString()).toBe("status=all&priority=high");
    expect(parseFilters(params, AGENT_DEFAULTS).status).toEqual([]);
  });

  it("gives the URL the inbox parses back to the view's filters", () => {
    const query = viewQueryFromFilters(busy, ME);
    const params = paramsForView(query, ME, AGENT_DEFAULTS);
    expect(params.get("assignee")).toBe("me");
    expect(viewQueryFromFilters(parseFilters(params, AGENT_DEFAULTS), ME)).toEqual(query);
  });
});

describe("matchingView", () => {
  const views = [
    { id: "a", query: { status: ["new" as const] } },
    { id: "b", query: viewQueryFromFilters(busy, ME) },
  ];

  it("finds the view the inbox shows, whatever the order of its parameters", () => {
    expect(matchingView(views, { ...busy, q: "refund" }, ME, AGENT_DEFAULTS)?.id).toBe("b");
    expect(matchingView(views, { ...AGENT_DEFAULTS, status: ["new"] }, ME, AGENT_DEFAULTS)?.id).toBe("a");
    expect(matchingView(views, AGENT_DEFAULTS, ME, AGENT_DEFAULTS)).toBeNull();
  });
});

describe("filtersNotShown", () => {
  it("names the filters set through the API that the inbox has no control for", () => {
    expect(filtersNotShown(viewQueryFromFilters(busy, ME))).toEqual([]);
    expect(filtersNotShown({ customer_id: ME, sla_breached: false, tag: ["a", "b"], number: null })).toEqual([
      "sla_breached",
      "tag",
    ]);
  });
});

describe("reorder", () => {
  const views = [
    { id: "a", position: 0 },
    { id: "b", position: 1 },
    { id: "c", position: 2 },
  ];

  it("swaps a view with its neighbour, saving only the positions that change", () => {
    expect(reorder(views, "c", -1)).toEqual([
      { id: "c", position: 1 },
      { id: "b", position: 2 },
    ]);
    expect(reorder(views, "a", 1)).toEqual([
      { id: "b", position: 0 },
      { id: "a", position: 1 },
    ]);
  });

  it("renumbers views that share a position (saved through the API)", () => {
    const tied = [
      { id: "a", position: 5 },
      { id: "b", position: 5 },
    ];
    expect(reorder(tied, "b", -1)).toEqual([
      { id: "b", position: 0 },
      { id: "a", position: 1 },
    ]);
  });

  it("does nothing past either end", () => {
    expect(reorder(views, "a", -1)).toEqual([]);
    expect(reorder(views, "c", 1)).toEqual([]);
    expect(reorder(views, "x", 1)).toEqual([]);
  });
});
