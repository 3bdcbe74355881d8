import { describe, expect, it } from "vitest";
import { conflictingFields, conflictsOfProblem, ifMatch } from "./conflict";

const current = {
  title: "Printer on fire",
  description: "Smoke",
  status: "pending",
  priority: "urgent",
  assigned_to: "agent-2",
  team_id: null,
};

describe("conflictingFields", () => {
  it("lists each edited field whose current value differs", () => {
    expect(conflictingFields({ status: "solved", title: "Printer on fire" }, current)).toEqual([
      { field: "status", mine: "solved", theirs: "pending" },
    ]);
  });
  it("is empty when the other change already matches mine", () => {
    expect(conflictingFields({ priority: "urgent" }, current)).toEqual([]);
  });
  it("treats unassignment as a value", () => {
    expect(conflictingFields({ assigned_to: null }, current)).toEqual([
      { field: "assigned_to", mine: null, theirs: "agent-2" },
    ]);
  });
  it("a team set meanwhile conflicts with mine", () => {
    expect(conflictingFields({ team_id: "t1" }, { ...current, team_id: "t2" })).toEqual([
      { field: "team_id", mine: "t1", theirs: "t2" },
    ]);
  });
  it("spells If-Match like the API's ETag", () => {
    expect(ifMatch(7)).toBe('"7"');
  });
});

describe("conflictsOfProblem", () => {
  it("reads the API's per-field conflicts", () => {
    expect(
      conflictsOfProblem({
        current_version: 3,
        conflicts: [
          { field: "priority", your_value: "low", current_value: "urgent" },
          { field: "assigned_to", your_value: null, current_value: "agent-2" },
          { field: "not-a-field", your_value: 1, current_value: 2 },
        ],
      }),
    ).toEqual([
      { field: "priority", mine: "low", theirs: "urgent" },
      { field: "assigned_to", mine: null, theirs: "agent-2" },
    ]);
  });
  it("is null for a 412 without them (e.g. a version from the future)", () => {
    expect(conflictsOfProblem({ current_version: 3 })).toBeNull();
  });
});
