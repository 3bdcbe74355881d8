import { describe, expect, it } from "vitest";
import { METADATA_KEY, parseMetadataValue, showMetadataValue } from "./metadata";

describe("metadata values", () => {
  it("keeps JSON as JSON and everything else as text", () => {
    expect(parseMetadataValue("42")).toBe(42);
    expect(parseMetadataValue('{"tier":"gold"}')).toEqual({ tier: "gold" });
    expect(parseMetadataValue("true")).toBe(true);
    expect(parseMetadataValue("gold plan")).toBe("gold plan");
    expect(showMetadataValue({ a: 1 })).toBe('{"a":1}');
    expect(showMetadataValue("x")).toBe("x");
  });
  it("checks keys like the API does", () => {
    expect(METADATA_KEY.test("crm.account_id")).toBe(true);
    expect(METADATA_KEY.test("Bad Key")).toBe(false);
    expect(METADATA_KEY.test("_x")).toBe(false);
  });
});
