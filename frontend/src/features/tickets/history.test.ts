import { describe, expect, it } from "vitest";
import { describeChange } from "./history";

describe("describeChange", () => {
  it("says what changed, from and to", () => {
    expect(
      describeChange({ change_type: "status_changed", old_value: { status: "new" }, new_value: { status: "on_hold" } }),
    ).toBe("Status: New → On hold");
    expect(describeChange({ change_type: "priority_changed", old_value: "low", new_value: "high" })).toBe(
      "Priority: Low → High",
    );
  });
  it("names assignees", () => {
    const name = (id: string | null) => (id === "u1" ? "Ada" : "?");
    expect(
      describeChange({ change_type: "assignee_changed", old_value: { assigned_to: null }, new_value: { assigned_to: "u1" } }, name),
    ).toBe("Assignee: Unassigned → Ada");
  });
  it("covers messages, metadata and unknown types", () => {
    expect(describeChange({ change_type: "message_added", new_value: { is_internal: true } })).toBe("Added an internal note");
    expect(describeChange({ change_type: "message_added", new_value: {} })).toBe("Added a message");
    expect(describeChange({ change_type: "metadata_set", new_value: { key: "plan", value: "gold" } })).toBe(
      'Metadata plan: set to "gold"',
    );
    expect(describeChange({ change_type: "something_new" })).toBe("Something new");
  });
});
