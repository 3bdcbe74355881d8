import { describe, expect, it } from "vitest";
import { excerptRuns, excerptText } from "./excerpt";

describe("excerpts", () => {
  it("joins runs of the same kind and flattens line breaks", () => {
    const runs = excerptRuns([
      { text: "the toner\n", match: false },
      { text: "  gives ", match: false },
      { text: "smoke", match: true },
      { text: "", match: false },
      { text: " now", match: false },
    ]);
    expect(runs).toEqual([
      { text: "the toner gives ", match: false },
      { text: "smoke", match: true },
      { text: " now", match: false },
    ]);
  });

  it("keeps markup as text", () => {
    const parts = [{ text: "<img src=x onerror=alert(1)>", match: true }];
    expect(excerptText(parts)).toBe("<img src=x onerror=alert(1)>");
  });
});
