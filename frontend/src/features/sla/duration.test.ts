import { describe, expect, it } from "vitest";
import { checkTimeOfDay, formatDuration, isOvernight, parseHoursMinutes, splitSeconds } from "./duration";

describe("splitSeconds", () => {
  it("shows hours and minutes", () => {
    expect(splitSeconds(5400)).toEqual({ hours: "1", minutes: "30" });
    expect(splitSeconds(3600 * 30)).toEqual({ hours: "30", minutes: "0" });
    expect(splitSeconds(60)).toEqual({ hours: "0", minutes: "1" });
  });
});

describe("parseHoursMinutes", () => {
  it("adds hours and minutes", () => {
    expect(parseHoursMinutes({ hours: "4", minutes: "30" })).toEqual({ seconds: 16200 });
    expect(parseHoursMinutes({ hours: "", minutes: "45" })).toEqual({ seconds: 2700 });
    expect(parseHoursMinutes({ hours: " 2 ", minutes: "" })).toEqual({ seconds: 7200 });
  });
  it("round-trips what splitSeconds shows", () => {
    for (const s of [60, 2700, 16200, 86400, 366 * 86400]) expect(parseHoursMinutes(splitSeconds(s))).toEqual({ seconds: s });
  });
  it("says why a value is not a duration", () => {
    expect(parseHoursMinutes({ hours: "1.5", minutes: "" })).toEqual({ error: "Hours and minutes are whole numbers." });
    expect(parseHoursMinutes({ hours: "-1", minutes: "0" })).toEqual({ error: "Hours and minutes are whole numbers." });
    expect(parseHoursMinutes({ hours: "1", minutes: "60" })).toEqual({ error: "Minutes must be below 60." });
    expect(parseHoursMinutes({ hours: "", minutes: "" })).toEqual({ error: "At least 1 minute." });
    expect(parseHoursMinutes({ hours: "8785", minutes: "0" })).toEqual({ error: "At most 366 days (8784 hours)." });
  });
});

describe("formatDuration", () => {
  it("is short and exact", () => {
    expect(formatDuration(5400)).toBe("1 h 30 min");
    expect(formatDuration(7200)).toBe("2 h");
    expect(formatDuration(2700)).toBe("45 min");
    expect(formatDuration(90060)).toBe("25 h 1 min");
    expect(formatDuration(0)).toBe("0 min");
  });
});

describe("times of day", () => {
  it("accepts HH:MM and 24:00 only as an end", () => {
    expect(checkTimeOfDay("09:00")).toBeNull();
    expect(checkTimeOfDay("24:00")).toBe("Use HH:MM.");
    expect(checkTimeOfDay("24:00", true)).toBeNull();
    expect(checkTimeOfDay("9:00")).toBe("Use HH:MM.");
  });
  it("knows overnight intervals", () => {
    expect(isOvernight("22:00", "06:00")).toBe(true);
    expect(isOvernight("09:00", "09:00")).toBe(true);
    expect(isOvernight("09:00", "17:00")).toBe(false);
    expect(isOvernight("18:00", "24:00")).toBe(false);
  });
});
