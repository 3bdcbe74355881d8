import { describe, expect, it } from "vitest";
import { isIrreversible, statusChoices } from "./transitions";

describe("statusChoices", () => {
  it("offers staff every status until closed", () => {
    expect(statusChoices(true, "new")).toEqual(["new", "open", "pending", "on_hold", "solved", "closed"]);
    expect(statusChoices(true, "closed")).toEqual(["closed"]);
  });
  it("lets customers solve and reopen, nothing else", () => {
    expect(statusChoices(false, "new")).toEqual(["new", "solved"]);
    expect(statusChoices(false, "pending")).toEqual(["pending", "solved"]);
    expect(statusChoices(false, "solved")).toEqual(["open", "solved"]);
    expect(statusChoices(false, "closed")).toEqual(["closed"]);
  });
  it("confirms closing only", () => {
    expect(isIrreversible("closed")).toBe(true);
    expect(isIrreversible("solved")).toBe(false);
  });
});
