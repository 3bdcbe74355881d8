import { describe, expect, it } from "vitest";
import { cappedCount, formatBytes, formatDateTime, humanize } from "./format";

describe("format", () => {
  it("humanizes enum values", () => {
    expect(humanize("on_hold")).toBe("On hold");
    expect(humanize("new")).toBe("New");
  });
  it("formats sizes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(2048)).toBe("2.0 KB");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5.0 MB");
  });
  it("caps counts", () => {
    expect(cappedCount(7, false)).toBe("7");
    expect(cappedCount(100, true)).toBe("100+");
  });
  it("formats dates and keeps unparseable values", () => {
    expect(formatDateTime(null)).toBe("—");
    expect(formatDateTime("not a date")).toBe("not a date");
    expect(formatDateTime("2026-01-05T10:02:00Z")).toMatch(/2026/);
  });
});
