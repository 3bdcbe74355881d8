import { describe, expect, it } from "vitest";
import { earliestDeadline, formatDuration, slaBadge, type TicketSla } from "./sla";

const NOW = Date.parse("2026-12-07T10:00:00Z");
const block = (over: Partial<TicketSla>): TicketSla => ({
  policy: "p",
  policy_name: "Standard",
  first_response_due_at: null,
  next_response_due_at: null,
  resolution_due_at: null,
  paused: false,
  breached: [],
  ...over,
});

describe("formatDuration", () => {
  it("keeps the two coarsest units in whole minutes", () => {
    expect(formatDuration(30_000)).toBe("< 1 m");
    expect(formatDuration(59_999)).toBe("< 1 m");
    expect(formatDuration(60_000)).toBe("1 m");
    expect(formatDuration(45 * 60_000 + 59_000)).toBe("45 m");
    expect(formatDuration(130 * 60_000)).toBe("2 h 10 m");
    expect(formatDuration(120 * 60_000)).toBe("2 h");
    expect(formatDuration((3 * 24 + 4) * 3600_000 + 5 * 60_000)).toBe("3 d 4 h");
    expect(formatDuration(2 * 24 * 3600_000)).toBe("2 d");
    expect(formatDuration(-15 * 60_000)).toBe("15 m");
  });
});

describe("earliestDeadline", () => {
  it("picks the running clock that is due first", () => {
    const sla = block({ first_response_due_at: "2026-12-07T12:00:00Z", resolution_due_at: "2026-12-07T11:00:00Z" });
    expect(earliestDeadline(sla)).toEqual({ kind: "resolution", at: Date.parse("2026-12-07T11:00:00Z") });
    expect(earliestDeadline(block({}))).toBeNull();
  });
});

describe("slaBadge", () => {
  it("counts down to the earliest deadline, amber within the hour", () => {
    expect(slaBadge(block({ first_response_due_at: "2026-12-07T12:10:00Z" }), NOW)).toEqual({
      tone: "ok",
      text: "due in 2 h 10 m",
      label: "SLA first response due in 2 h 10 m",
    });
    expect(slaBadge(block({ resolution_due_at: "2026-12-07T10:40:00Z" }), NOW)?.tone).toBe("soon");
  });
  it("says how long ago an overdue deadline passed", () => {
    const state = slaBadge(block({ first_response_due_at: "2026-12-07T09:45:00Z" }), NOW);
    expect(state).toEqual({
      tone: "breached",
      text: "breached 15 m ago",
      label: "SLA first response breached 15 m ago",
    });
    expect(slaBadge(block({ first_response_due_at: "2026-12-07T09:59:30Z" }), NOW)?.text).toBe("breached just now");
  });
  it("stays red while another target was already missed", () => {
    const state = slaBadge(
      block({ resolution_due_at: "2026-12-08T10:00:00Z", breached: ["first_response"] }),
      NOW,
    );
    expect(state?.tone).toBe("breached");
    expect(state?.text).toBe("due in 1 d");
    expect(state?.label).toBe("SLA resolution due in 1 d; missed: first response");
  });
  it("shows paused, missed, or nothing when no clock runs", () => {
    expect(slaBadge(block({ paused: true }), NOW)).toEqual({
      tone: "paused",
      text: "paused",
      label: "SLA paused (waiting on the customer)",
    });
    expect(slaBadge(block({ breached: ["resolution"] }), NOW)?.text).toBe("missed");
    expect(slaBadge(block({}), NOW)).toBeNull();
    expect(slaBadge(null, NOW)).toBeNull();
    expect(slaBadge(undefined, NOW)).toBeNull();
  });
  it("moves with the clock", () => {
    const sla = block({ first_response_due_at: "2026-12-07T10:02:00Z" });
    expect(slaBadge(sla, NOW)?.text).toBe("due in 2 m");
    expect(slaBadge(sla, NOW + 60_000)?.text).toBe("due in 1 m");
    expect(slaBadge(sla, NOW + 120_000)?.text).toBe("breached just now");
    expect(slaBadge(sla, NOW + 180_000)?.text).toBe("breached 1 m ago");
  });
});
