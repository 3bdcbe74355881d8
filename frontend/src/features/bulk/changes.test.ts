import { describe, expect, it } from "vitest";
import { EMPTY_FORM, NONE, type BulkResult, failures, summarize, toChanges } from "./changes";

const ticket = (id: string) => ({
  id,
  number: 1,
  title: "t",
  description: "",
  status: "open" as const,
  priority: "normal" as const,
  created_at: "",
  updated_at: "",
  assigned_to: null,
  customer_id: "c",
  version: 2,
});

describe("bulk changes", () => {
  it("sends only what was chosen; none means unassign / no team", () => {
    expect(toChanges({ ...EMPTY_FORM, status: "pending", assignee: NONE, team: "t1" })).toEqual({
      changes: { status: "pending", assigned_to: null, team_id: "t1" },
    });
    expect(toChanges({ ...EMPTY_FORM, addTag: " VIP ", removeTag: "old" })).toEqual({
      changes: { add_tags: ["vip"], remove_tags: ["old"] },
    });
  });

  it("refuses an empty change, a bad tag, and the same tag both ways", () => {
    expect(toChanges(EMPTY_FORM)).toEqual({ error: "Choose a change first." });
    expect("error" in toChanges({ ...EMPTY_FORM, addTag: "no spaces" })).toBe(true);
    expect(toChanges({ ...EMPTY_FORM, addTag: "a", removeTag: "a" })).toEqual({
      error: "The same tag cannot be added and removed.",
    });
  });

  it("summarizes the per-ticket results and lists the failures", () => {
    const problem = { type: "/problems/ticket-closed", title: "Ticket is closed", status: 409, detail: "Closed." };
    const result: BulkResult = {
      updated: 2,
      failed: 1,
      results: [
        { ticket_id: "a", outcome: "updated", ticket: ticket("a"), problem: null },
        { ticket_id: "b", outcome: "updated", ticket: ticket("b"), problem: null },
        { ticket_id: "c", outcome: "unchanged", ticket: ticket("c"), problem: null },
        { ticket_id: "d", outcome: "conflict", ticket: null, problem },
      ],
    };
    expect(summarize(result)).toBe("2 tickets changed, 1 already so, 1 closed.");
    expect(failures(result)).toEqual([{ ticketId: "d", reason: "Closed." }]);
  });
});
