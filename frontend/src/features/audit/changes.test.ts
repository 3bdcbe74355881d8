import { describe, expect, it } from "vitest";
import { changeLines } from "./changes";

describe("changeLines", () => {
  it("reads an update's [old, new] pairs as a diff", () => {
    expect(changeLines("ticket.updated", { status: ["new", "open"], assigned_to: [null, "u-1"], version: 3 })).toEqual([
      { key: "status", text: "new → open" },
      { key: "assigned_to", text: "(none) → u-1" },
      { key: "version", text: "3" },
    ]);
  });
  it("shows a creation's values, arrays as values", () => {
    expect(changeLines("api_key.created", { name: "ci", scopes: ["tickets:read", "tickets:write"] })).toEqual([
      { key: "name", text: "ci" },
      { key: "scopes", text: '["tickets:read","tickets:write"]' },
    ]);
  });
  it("cuts long values", () => {
    const [line] = changeLines("auth.failed", { reason: "x".repeat(500) });
    expect(line?.text.length).toBe(120);
  });
  it("is empty without changes", () => {
    expect(changeLines("auth.login", null)).toEqual([]);
  });
});
