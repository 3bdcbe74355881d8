import { describe, expect, it } from "vitest";
import { ApiError } from "../../lib/api/problem";
import { calendarBody, calendarDraft, errorAt, metadataValue, nextPosition, policyBody, policyDraft, problemFields, reorder, validateCalendar } from "./form";

describe("problemFields", () => {
  it("keys messages by the full path without body", () => {
    const error = new ApiError(422, {
      type: "/problems/validation-failed",
      status: 422,
      title: "Invalid",
      errors: [
        { loc: ["body", "intervals", 1, "end"], msg: "bad end", type: "x" },
        { loc: ["body", "intervals", 1, "end"], msg: "second", type: "x" },
        { loc: ["body", "time_zone"], msg: "unknown IANA time zone", type: "x" },
      ],
    });
    expect(problemFields(error)).toEqual({ "intervals.1.end": "bad end", time_zone: "unknown IANA time zone" });
    expect(errorAt(problemFields(error), "intervals.1")).toBe("bad end");
  });
  it("puts a name conflict on the name", () => {
    const error = new ApiError(409, { type: "/problems/sla-name-taken", status: 409, title: "Taken", detail: "Name already in use." });
    expect(problemFields(error)).toEqual({ name: "Name already in use." });
  });
  it("ignores what is not an API problem", () => {
    expect(problemFields(new Error("x"))).toEqual({});
  });
});

describe("calendars", () => {
  it("validates intervals and holidays before sending", () => {
    const draft = calendarDraft(null, "Europe/Berlin");
    draft.intervals.push({ weekday: 5, start: "22:00", end: "6:00" });
    draft.holidays.push({ kind: "yearly", month: 2, day: 30, name: "" }, { kind: "date", date: "", name: "" });
    expect(validateCalendar(draft, ["Europe/Berlin"])).toEqual({
      name: "Give the calendar a name.",
      "intervals.5.end": "Use HH:MM (24:00 is midnight).",
      "holidays.0.day": "February has no day 30.",
      "holidays.1.date": "Pick a date.",
    });
    expect(validateCalendar({ ...draft, time_zone: "Mars/Base" }, ["Europe/Berlin"]).time_zone).toBe("Pick an IANA time zone from the list.");
  });
  it("builds the API body", () => {
    const draft = calendarDraft(null, "Europe/Berlin");
    draft.name = " Office ";
    draft.intervals = [{ weekday: 0, start: "22:00", end: "06:00" }];
    draft.holidays = [
      { kind: "date", date: "2026-12-24", name: "Eve" },
      { kind: "yearly", month: 12, day: 25, name: "Christmas" },
    ];
    expect(calendarBody(draft)).toEqual({
      name: "Office",
      time_zone: "Europe/Berlin",
      intervals: [{ weekday: 0, start: "22:00", end: "06:00" }],
      holidays: [
        { date: "2026-12-24", name: "Eve" },
        { month: 12, day: 25, name: "Christmas" },
      ],
    });
  });
});

describe("policies", () => {
  it("turns hours and minutes into seconds per priority and kind", () => {
    const draft = policyDraft(null);
    draft.name = "Standard";
    draft.calendar_id = "0190f0a0-0000-7000-8000-000000000001";
    draft.targets.high.first_response = { on: true, business: false, hours: "1", minutes: "30" };
    const { body, errors } = policyBody(draft);
    expect(errors).toEqual({});
    expect(body.targets.high?.first_response).toEqual({ seconds: 5400, business: false });
    expect(body.targets.high?.next_response).toBeUndefined();
    expect(body.targets.low?.resolution).toEqual({ seconds: 120 * 3600, business: true });
  });
  it("says what is wrong, keyed like the API", () => {
    const draft = policyDraft(null);
    draft.targets.urgent.resolution.minutes = "75";
    draft.warning_percent = "100";
    draft.customer_ids = "nope";
    draft.metadata = [{ key: "Bad Key", value: "1" }];
    expect(policyBody(draft).errors).toEqual({
      name: "Give the policy a name.",
      warning_percent: "A whole percent from 0 (no warning) to 99.",
      "conditions.customer_ids": "Not a user id: nope",
      "conditions.metadata.0": "Keys are lowercase letters, digits, _ . - (up to 64).",
      "targets.urgent.resolution": "Minutes must be below 60.",
      calendar_id: "Business-time targets need a calendar (or switch them to calendar time).",
    });
  });
  it("reads metadata values as JSON when they are", () => {
    expect(metadataValue("true")).toBe(true);
    expect(metadataValue("3")).toBe(3);
    expect(metadataValue("gold")).toBe("gold");
  });
});

describe("reorder", () => {
  const list = [
    { id: "a", position: 0 },
    { id: "b", position: 1 },
    { id: "c", position: 2 },
  ];
  it("moves one policy and sends the whole order", () => {
    expect(reorder(list, 2, -1)).toEqual(["a", "c", "b"]);
    expect(reorder(list, 0, 1)).toEqual(["b", "a", "c"]);
  });
  it("cannot move past the ends", () => {
    expect(reorder(list, 0, -1)).toBeNull();
    expect(reorder(list, 2, 1)).toBeNull();
  });
  it("keeps every policy once, whatever the stored positions", () => {
    expect(reorder([{ id: "a", position: 5 }, { id: "b", position: 5 }], 1, -1)).toEqual(["b", "a"]);
  });
  it("puts a new policy last", () => {
    expect(nextPosition(list)).toBe(3);
    expect(nextPosition([])).toBe(0);
  });
});
