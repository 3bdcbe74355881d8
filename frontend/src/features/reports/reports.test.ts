import { describe, expect, it } from "vitest";
import {
  bucketLabel,
  controlsFrom,
  controlsToParams,
  csvHref,
  formatDuration,
  formatPercentile,
  formatRate,
  hasClockFigures,
  localMidnight,
  reportQuery,
  sourceNote,
} from "./reports";

describe("report controls", () => {
  it("defaults to the last 30 days by day", () => {
    const c = controlsFrom(new URLSearchParams("time_zone=UTC"), new Date("2026-12-07T10:00:00Z"));
    expect([c.from, c.to, c.interval, c.zone, c.groupBy]).toEqual(["2026-11-08", "2026-12-07", "day", "UTC", "channel"]);
  });

  it("round-trips through the URL and ignores unknown values", () => {
    const c = controlsFrom(new URLSearchParams("from=2026-11-01&to=2026-11-30&interval=hour&time_zone=Europe/Berlin&priority=high"));
    expect(c.interval).toBe("day");
    expect(controlsToParams(c).toString()).toBe("from=2026-11-01&to=2026-11-30&interval=day&time_zone=Europe%2FBerlin&priority=high");
  });

  it("puts the period at local midnights, across a DST change", () => {
    expect(localMidnight("2026-11-03", "Europe/Berlin")).toBe("2026-11-02T23:00:00Z");
    expect(localMidnight("2026-07-01", "Europe/Berlin")).toBe("2026-06-30T22:00:00Z");
    expect(localMidnight("2026-11-01", "America/New_York")).toBe("2026-11-01T04:00:00Z");
    const q = reportQuery(controlsFrom(new URLSearchParams("from=2026-10-25&to=2026-10-25&time_zone=Europe/Berlin")));
    // 25 October 2026 is 25 hours long in Berlin (summer time ends).
    expect([q.period_start, q.period_end]).toEqual(["2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"]);
  });

  it("builds the CSV link with the same query", () => {
    expect(csvHref("backlog", { period_start: "2026-11-01T00:00:00Z", interval: "day" })).toBe(
      "/api/v1/reports/backlog?period_start=2026-11-01T00%3A00%3A00Z&interval=day&format=csv",
    );
  });
});

describe("formatting", () => {
  it("shows durations, rates and bucket labels", () => {
    expect([formatDuration(null), formatDuration(30), formatDuration(2250), formatDuration(12600), formatDuration(180000)]).toEqual([
      "—",
      "30 s",
      "38 min",
      "3.5 h",
      "2.1 d",
    ]);
    expect([formatRate(0.5), formatRate(null)]).toEqual(["50 %", "—"]);
    expect(bucketLabel("2026-11-02T23:00:00Z", "day", "Europe/Berlin")).toBe("3 Nov");
    expect(bucketLabel("2026-10-31T23:00:00Z", "month", "Europe/Berlin")).toBe("Nov 2026");
  });
});

describe("where figures come from", () => {
  const rollup = { source: "rollup", approximate: true };
  const facts = { source: "facts", approximate: false };

  it("marks approximate percentiles, never a missing one", () => {
    expect([formatPercentile(12600, rollup), formatPercentile(null, rollup)]).toEqual(["≈ 3.5 h", "—"]);
    expect(formatPercentile(12600, facts)).toBe("3.5 h");
  });

  it("has SLA clock figures only from the facts", () => {
    expect([hasClockFigures(rollup), hasClockFigures(facts)]).toEqual([false, true]);
  });

  it("says the source and what is approximate", () => {
    expect(sourceNote(rollup)).toBe("From daily rollups; ≈ marks medians and 90th percentiles, which are within 5 % of the exact value.");
    expect(sourceNote({ source: "rollup", approximate: false })).toBe("From daily rollups; exact.");
    expect(sourceNote(facts)).toBe("From the metric facts; exact.");
    expect(sourceNote({ source: "clocks", approximate: false })).toBe("From the SLA clocks; exact.");
  });
});
