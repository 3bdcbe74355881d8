import { describe, expect, it } from "vitest";
import {
  type ApiCondition,
  actionFromApi,
  actionToApi,
  actionsToApi,
  conditionFromApi,
  conditionToApi,
  conditionsToApi,
  describeEffect,
  newAction,
  newCondition,
  withField,
} from "./model";

const names = { user: (id: string | null) => (id ? `user ${id}` : "Unassigned"), team: (id: string | null) => (id ? `team ${id}` : "No team") };

describe("conditions", () => {
  it("builds each kind of condition", () => {
    expect(conditionToApi(newCondition("event"))).toEqual({ field: "event", op: "eq", value: "ticket.created" });
    expect(conditionToApi({ field: "status", key: "", op: "in", value: "new, open" })).toEqual({ field: "status", op: "in", value: ["new", "open"] });
    expect(conditionToApi({ field: "metadata", key: "plan", op: "eq", value: "pro" })).toEqual({ field: "metadata.plan", op: "eq", value: "pro" });
    expect(conditionToApi({ field: "number", key: "", op: "eq", value: "42" })).toEqual({ field: "number", op: "eq", value: 42 });
    expect(conditionToApi({ field: "assigned_to", key: "", op: "exists", value: "ignored" })).toEqual({ field: "assigned_to", op: "exists" });
    expect(conditionToApi({ field: "tags", key: "", op: "includes", value: "vip" })).toEqual({ field: "tags", op: "includes", value: "vip" });
  });

  it("says what is missing", () => {
    expect(conditionToApi({ field: "metadata", key: "Bad Key", op: "eq", value: "x" })).toHaveProperty("error");
    expect(conditionToApi({ field: "status", key: "", op: "in", value: " , " })).toEqual({ error: "Status: give at least one value." });
    expect(conditionToApi({ field: "team_id", key: "", op: "eq", value: "" })).toEqual({ error: "Team: choose a value." });
    expect(conditionToApi({ field: "number", key: "", op: "eq", value: "1.5" })).toEqual({ error: "Number: a whole number." });
    expect(conditionsToApi([newCondition("event")], [{ field: "team_id", key: "", op: "eq", value: "" }])).toEqual({ error: "Team: choose a value." });
  });

  it("round-trips through the API's JSON", () => {
    for (const c of [
      { field: "metadata.plan", op: "eq", value: "pro" },
      { field: "status", op: "in", value: ["new", "open"] },
      { field: "assigned_to", op: "not_exists" },
    ]) {
      expect(conditionToApi(conditionFromApi(c))).toEqual(c);
    }
  });

  it("keeps the operator when the new field has it", () => {
    expect(withField({ field: "status", key: "", op: "ne", value: "new" }, "priority").op).toBe("ne");
    expect(withField({ field: "status", key: "", op: "in", value: "new" }, "tags").op).toBe("includes");
  });
});

describe("actions", () => {
  it("builds each kind of action", () => {
    expect(actionToApi({ ...newAction("set"), field: "priority", value: "urgent" })).toEqual({ type: "set", field: "priority", value: "urgent" });
    expect(actionToApi({ ...newAction("set"), field: "assigned_to", value: "" })).toEqual({ type: "set", field: "assigned_to", value: null });
    expect(actionToApi({ ...newAction("add_tags"), tags: "VIP, billing" })).toEqual({ type: "add_tags", tags: ["vip", "billing"] });
    expect(actionToApi({ ...newAction("set_metadata"), key: "plan", value: '{"tier": 2}' })).toEqual({ type: "set_metadata", key: "plan", value: { tier: 2 } });
    expect(actionToApi({ ...newAction("set_metadata"), key: "plan", value: "gold" })).toEqual({ type: "set_metadata", key: "plan", value: "gold" });
    expect(actionToApi({ ...newAction("internal_note"), body: "Hi {{ agent.name }}" })).toEqual({ type: "internal_note", body: "Hi {{ agent.name }}" });
  });

  it("says what is missing", () => {
    expect(actionToApi({ ...newAction("add_tags"), tags: "" })).toEqual({ error: "Add tags: give at least one tag." });
    expect(actionToApi({ ...newAction("remove_tags"), tags: "no spaces" })).toHaveProperty("error");
    expect(actionToApi(newAction("assign_round_robin"))).toEqual({ error: "Assign in turn: choose a team." });
    expect(actionsToApi([newAction("set"), newAction("reply")])).toEqual({ error: "Send a reply: write the text." });
  });

  it("round-trips through the API's JSON", () => {
    for (const a of [
      { type: "set", field: "status", value: "pending" },
      { type: "remove_tags", tags: ["a", "b"] },
      { type: "set_metadata", key: "k", value: { x: 1 } },
      { type: "reply", body: "Thanks" },
      { type: "assign_round_robin", team_id: "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b20" },
    ]) {
      expect(actionToApi(actionFromApi(a))).toEqual(a);
    }
  });
});

describe("effects", () => {
  it("reads like a change list", () => {
    expect(describeEffect({ type: "set", field: "status", from: "open", to: "pending" }, names)).toBe("Status: open → pending");
    expect(describeEffect({ type: "set", field: "assigned_to", from: null, to: "u1" }, names)).toBe("Assignee: Unassigned → user u1");
    expect(describeEffect({ type: "tags", from: ["old", "x"], to: ["vip", "x"] }, names)).toBe("Tags: + vip, − old");
    expect(describeEffect({ type: "set_metadata", key: "plan", to: "pro" }, names)).toBe('Metadata plan: "pro"');
    expect(describeEffect({ type: "assign", to: "u2", team_id: "t1" }, names)).toBe("Assigned to user u2 (team t1)");
  });
});

describe("assign within a team", () => {
  it("round-trips the strategy and needs a team", () => {
    const team = "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b10";
    const draft = actionFromApi({ type: "assign", team_id: team, strategy: "least_loaded" });
    expect(actionToApi(draft)).toEqual({ type: "assign", team_id: team, strategy: "least_loaded" });
    expect(actionToApi({ ...newAction("assign"), target: team })).toEqual({ type: "assign", team_id: team, strategy: "round_robin" });
    expect(actionToApi(newAction("assign"))).toEqual({ error: "Assign within a team: choose a team." });
  });
});

describe("time conditions", () => {
  const calendar = "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b11";
  it("build the API's duration and read it back", () => {
    const draft = { ...newCondition("time.status_changed"), value: "3", unit: "business_days", calendar };
    const api = conditionToApi(draft);
    expect(api).toEqual({ field: "time.status_changed", op: "older_than", value: { amount: 3, unit: "business_days", calendar_id: calendar } });
    expect(conditionFromApi(api as ApiCondition)).toEqual({ field: "time.status_changed", key: "", op: "older_than", value: "3", unit: "business_days", calendar });
    expect(conditionToApi({ ...newCondition("time.created"), value: "30", unit: "minutes" })).toEqual({
      field: "time.created",
      op: "older_than",
      value: { amount: 30, unit: "minutes" },
    });
  });
  it("refuse a missing calendar for business time, and a zero amount", () => {
    expect(conditionToApi({ ...newCondition("time.updated"), value: "2", unit: "business_hours" })).toEqual({
      error: "Time since the last change: business time needs a calendar.",
    });
    expect(conditionToApi({ ...newCondition("time.updated"), value: "0" })).toEqual({ error: "Time since the last change: a whole number of at least 1." });
  });
});
