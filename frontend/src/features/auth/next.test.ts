import { describe, expect, it } from "vitest";
import { safeNext } from "./next";

describe("safeNext", () => {
  it("keeps in-app paths with their query", () => {
    expect(safeNext("/tickets?status=open")).toBe("/tickets?status=open");
    expect(safeNext("/tickets/0195")).toBe("/tickets/0195");
  });
  it("refuses other origins and loops back to login", () => {
    expect(safeNext("https://evil.example/")).toBe("/");
    expect(safeNext("//evil.example/")).toBe("/");
    expect(safeNext("/\\evil.example")).toBe("/");
    expect(safeNext("/login?next=/x")).toBe("/");
    expect(safeNext(null)).toBe("/");
  });
});
