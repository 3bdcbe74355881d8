import { describe, expect, it } from "vitest";
import { documentTitle } from "./title";

describe("documentTitle", () => {
  it("names the page first", () => {
    expect(documentTitle("Inbox")).toBe("Inbox · Helpline");
    expect(documentTitle("  Printer on fire ")).toBe("Printer on fire · Helpline");
  });
  it("falls back to the app's name", () => {
    expect(documentTitle(null)).toBe("Helpline");
    expect(documentTitle("")).toBe("Helpline");
  });
});
