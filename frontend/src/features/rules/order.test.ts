import { describe, expect, it } from "vitest";
import { moveRule, nextPosition } from "./order";

describe("rule order", () => {
  it("swaps neighbours, writing only the positions that change", () => {
    const rules = [
      { id: "a", position: 10 },
      { id: "b", position: 20 },
      { id: "c", position: 30 },
    ];
    expect(moveRule(rules, "c", -1)).toEqual(new Map([["b", 30], ["c", 20]]));
    expect(moveRule(rules, "a", 1)).toEqual(new Map([["a", 20], ["b", 10]]));
  });

  it("spreads ties first, so the move is real", () => {
    const rules = [
      { id: "a", position: 0 },
      { id: "b", position: 0 },
    ];
    expect(moveRule(rules, "b", -1)).toEqual(new Map([["a", 20], ["b", 10]]));
  });

  it("does nothing at the ends or for an unknown rule", () => {
    const rules = [{ id: "a", position: 10 }];
    expect(moveRule(rules, "a", -1).size).toBe(0);
    expect(moveRule(rules, "a", 1).size).toBe(0);
    expect(moveRule(rules, "x", 1).size).toBe(0);
  });

  it("puts a new rule last", () => {
    expect(nextPosition([])).toBe(10);
    expect(nextPosition([{ id: "a", position: 35 }])).toBe(45);
  });
});
