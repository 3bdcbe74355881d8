import { describe, expect, it } from "vitest";
import { tooLong } from "./text";

describe("tooLong", () => {
  it("accepts up to the limit", () => {
    expect(tooLong("a".repeat(200), 200)).toBeNull();
  });
  it("says how long and by how much", () => {
    expect(tooLong("a".repeat(500), 200, "The title")).toBe(
      "The title is 500 characters; the limit is 200. Shorten it by 300.",
    );
  });
  it("counts characters, not UTF-16 units", () => {
    expect(tooLong("😀".repeat(200), 200)).toBeNull();
  });
});
