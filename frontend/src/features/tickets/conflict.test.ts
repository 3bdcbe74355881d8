import { describe, expect, it } from "vitest";
import { conflictingFields, ifMatch } from "./conflict";

const current = {
  title: "Printer on fire",
  description: "Smoke",
  status: "pending",
  priority: "urgent",
  assigned_to: "agent-2",
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
  it("spells If-Match like the API's ETag", () => {
    expect(ifMatch(7)).toBe('"7"');
  });
});
