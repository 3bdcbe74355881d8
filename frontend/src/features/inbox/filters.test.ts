import { describe, expect, it } from "vitest";
import {
  AGENT_DEFAULTS,
  CUSTOMER_SORTS,
  DEFAULT_FILTERS,
  filtersToParams,
  moveSelection,
  parseFilters,
  toApiQuery,
} from "./filters";

const ME = "0195f2a4-0000-7c3a-9d41-2f7c1e9a5b10";

describe("inbox filters in the URL", () => {
  it("round-trips through the URL", () => {
    const filters = {
      status: ["new" as const, "open" as const],
      priority: "high" as const,
      assignee: "me",
      q: "password reset",
      sort: "created_at" as const,
      tag: null,
      team: null,
      customer: null,
    };
    const params = filtersToParams(filters);
    expect(params.toString()).toBe("status=new%2Copen&priority=high&assignee=me&q=password+reset&sort=created_at");
    expect(parseFilters(params)).toEqual(filters);
  });

  it("drops defaults and unknown values", () => {
    expect(filtersToParams(DEFAULT_FILTERS).toString()).toBe("");
    const parsed = parseFilters(new URLSearchParams("status=open,bogus,new&priority=huge&sort=x&assignee=drop table"));
    expect(parsed.status).toEqual(["new", "open"]);
    expect(parsed.priority).toBeNull();
    expect(parsed.sort).toBe("-updated_at");
    expect(parsed.assignee).toBeNull();
  });

  it("builds the API query, resolving 'me'", () => {
    const filters = parseFilters(new URLSearchParams("assignee=me&status=pending&q=%20vpn%20"));
    expect(toApiQuery(filters, ME, 25)).toEqual({
      sort: "-updated_at",
      limit: 25,
      status: "pending",
      assigned_to: ME,
      q: "vpn",
      q_scope: "all",
    });
    expect(toApiQuery(DEFAULT_FILTERS, null)).toEqual({ sort: "-updated_at", limit: 50 });
  });

  it("filters by customer (the customer panel's link), refusing what is not an id", () => {
    const customer = "0195f2a4-0000-7c3a-9d41-2f7c1e9a5b12";
    const filters = parseFilters(new URLSearchParams(`customer=${customer}&status=all`), AGENT_DEFAULTS);
    expect(filters.customer).toBe(customer);
    expect(filtersToParams(filters, AGENT_DEFAULTS).toString()).toBe(`status=all&customer=${customer}`);
    expect(toApiQuery(filters, ME)).toEqual({ sort: "-updated_at", limit: 50, customer_id: customer });
    expect(parseFilters(new URLSearchParams("customer=alice")).customer).toBeNull();
  });

  it("filters by tag and team, refusing what is neither", () => {
    const team = "0195f2a4-0000-7c3a-9d41-2f7c1e9a5b11";
    const filters = parseFilters(new URLSearchParams(`tag=vip&team=${team}`));
    expect([filters.tag, filters.team]).toEqual(["vip", team]);
    expect(filtersToParams(filters).toString()).toBe(`tag=vip&team=${team}`);
    expect(toApiQuery(filters, ME)).toEqual({ sort: "-updated_at", limit: 50, tag: ["vip"], team_id: team });
    const bad = parseFilters(new URLSearchParams("tag=Not%20a%20tag&team=x"));
    expect([bad.tag, bad.team]).toEqual([null, null]);
  });

  it("moves the selection within bounds", () => {
    expect(moveSelection(-1, 1, 3)).toBe(0);
    expect(moveSelection(-1, -1, 3)).toBe(2);
    expect(moveSelection(2, 1, 3)).toBe(2);
    expect(moveSelection(0, -1, 3)).toBe(0);
    expect(moveSelection(1, 1, 0)).toBe(-1);
  });
});

describe("the agents' default view", () => {
  it("shows open work by default, and everything with status=all", () => {
    expect(parseFilters(new URLSearchParams(""), AGENT_DEFAULTS).status).toEqual(["new", "open", "pending", "on_hold"]);
    expect(parseFilters(new URLSearchParams("status=all"), AGENT_DEFAULTS).status).toEqual([]);
    expect(parseFilters(new URLSearchParams("status=solved"), AGENT_DEFAULTS).status).toEqual(["solved"]);
  });
  it("keeps the default out of the URL and says 'all' when every status is wanted", () => {
    expect(filtersToParams(AGENT_DEFAULTS, AGENT_DEFAULTS).toString()).toBe("");
    expect(filtersToParams({ ...AGENT_DEFAULTS, status: [] }, AGENT_DEFAULTS).toString()).toBe("status=all");
    expect(filtersToParams({ ...AGENT_DEFAULTS, status: ["closed"] }, AGENT_DEFAULTS).toString()).toBe("status=closed");
  });
  it("leaves customers' lists unfiltered", () => {
    expect(parseFilters(new URLSearchParams("")).status).toEqual([]);
  });
  it("sorts staff by SLA due; a customer's URL cannot ask for it (the API refuses it)", () => {
    const params = new URLSearchParams("sort=sla_due");
    expect(parseFilters(params, AGENT_DEFAULTS).sort).toBe("sla_due");
    expect(toApiQuery(parseFilters(params, AGENT_DEFAULTS), ME).sort).toBe("sla_due");
    expect(parseFilters(params, DEFAULT_FILTERS, CUSTOMER_SORTS).sort).toBe("-updated_at");
  });
});
