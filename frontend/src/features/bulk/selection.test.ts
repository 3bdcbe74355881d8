import { describe, expect, it } from "vitest";
import { EMPTY_SELECTION, extendTo, headerState, keepVisible, selectedInOrder, toggle, toggleAll } from "./selection";

const rows = ["a", "b", "c", "d", "e"];

describe("bulk selection", () => {
  it("toggles a row and makes it the anchor", () => {
    const one = toggle(EMPTY_SELECTION, "b");
    expect([...one.ids]).toEqual(["b"]);
    expect(one.anchor).toBe("b");
    expect(toggle(one, "b").ids.size).toBe(0);
  });

  it("shift-click selects the range from the anchor, in either direction", () => {
    const s = extendTo(toggle(EMPTY_SELECTION, "b"), rows, "d");
    expect(selectedInOrder(s, rows)).toEqual(["b", "c", "d"]);
    const up = extendTo(toggle(EMPTY_SELECTION, "d"), rows, "a");
    expect(selectedInOrder(up, rows)).toEqual(["a", "b", "c", "d"]);
  });

  it("shift-click on a selected row clears the range", () => {
    const all = toggleAll(EMPTY_SELECTION, rows);
    const s = extendTo({ ...all, anchor: "a" }, rows, "c");
    expect(selectedInOrder(s, rows)).toEqual(["d", "e"]);
  });

  it("shift-click without an anchor is a toggle", () => {
    expect(selectedInOrder(extendTo(EMPTY_SELECTION, rows, "c"), rows)).toEqual(["c"]);
  });

  it("the header checkbox selects all in view, then clears", () => {
    const some = toggle(EMPTY_SELECTION, "a");
    expect(headerState(some, rows)).toBe("some");
    const all = toggleAll(some, rows);
    expect(headerState(all, rows)).toBe("all");
    expect(headerState(toggleAll(all, rows), rows)).toBe("none");
  });

  it("drops rows that left the view, and keeps the object when nothing did", () => {
    const s = toggleAll(EMPTY_SELECTION, rows);
    expect(keepVisible(s, rows)).toBe(s);
    const fewer = keepVisible({ ...s, anchor: "e" }, ["a", "b"]);
    expect([...fewer.ids]).toEqual(["a", "b"]);
    expect(fewer.anchor).toBeNull();
  });
});
