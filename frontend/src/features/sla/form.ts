import { ApiError } from "../../lib/api/problem";
import type { components } from "../../lib/api/schema";
import { checkTimeOfDay, type HoursMinutes, parseHoursMinutes, splitSeconds } from "./duration";

export type Calendar = components["schemas"]["CalendarRead"];
export type CalendarCreate = components["schemas"]["CalendarCreate"];
export type Policy = components["schemas"]["PolicyRead"];
export type PolicyCreate = components["schemas"]["PolicyCreate"];
export type Recompute = components["schemas"]["RecomputeRead"];
export type Priority = components["schemas"]["TicketPriority"];
export type Status = components["schemas"]["TicketStatus"];

export const PRIORITIES: Priority[] = ["low", "normal", "high", "urgent"];
export const PAUSABLE: Status[] = ["new", "open", "pending", "on_hold"];
export const KINDS = ["first_response", "next_response", "resolution"] as const;
export type Kind = (typeof KINDS)[number];
export const KIND_LABELS: Record<Kind, string> = {
  first_response: "First response",
  next_response: "Next response",
  resolution: "Resolution",
};
export const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
export const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/** Field errors keyed by the path the API uses (`intervals.0.start`, `targets.high.resolution`). */
export type FieldErrors = Record<string, string>;

/**
 * A problem's per-field messages keyed by their full path (the `body` prefix dropped), so a
 * message lands next to the very input it is about — the first message per path wins. A name
 * conflict (409, no `errors[]`) belongs to the name field.
 */
export function problemFields(error: unknown): FieldErrors {
  if (!(error instanceof ApiError)) return {};
  if (error.is("sla-name-taken")) return { name: error.detail };
  const out: FieldErrors = {};
  for (const item of error.errors ?? []) {
    const loc = item.loc[0] === "body" ? item.loc.slice(1) : item.loc;
    const path = loc.map(String).join(".");
    if (!(path in out)) out[path] = item.msg;
  }
  return out;
}

/** The message for a field, also matching a problem about something inside it. */
export function errorAt(errors: FieldErrors, path: string): string | undefined {
  if (errors[path]) return errors[path];
  const inside = Object.keys(errors).find((k) => k.startsWith(`${path}.`));
  return inside ? errors[inside] : undefined;
}

// -- calendars -------------------------------------------------------------------------------
export interface IntervalDraft {
  weekday: number;
  start: string;
  end: string;
}
export type HolidayDraft = { kind: "date"; date: string; name: string } | { kind: "yearly"; month: number; day: number; name: string };
export interface CalendarDraft {
  name: string;
  time_zone: string;
  intervals: IntervalDraft[];
  holidays: HolidayDraft[];
}

export function officeHours(): IntervalDraft[] {
  return [0, 1, 2, 3, 4].map((weekday) => ({ weekday, start: "09:00", end: "17:00" }));
}

export function calendarDraft(calendar: Calendar | null, defaultZone: string): CalendarDraft {
  if (!calendar) return { name: "", time_zone: defaultZone, intervals: officeHours(), holidays: [] };
  return {
    name: calendar.name,
    time_zone: calendar.time_zone,
    intervals: calendar.intervals.map((i) => ({ ...i })),
    holidays: calendar.holidays.map((h) =>
      h.date ? { kind: "date", date: h.date, name: h.name ?? "" } : { kind: "yearly", month: h.month ?? 1, day: h.day ?? 1, name: h.name ?? "" },
    ),
  };
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** What the form can tell before asking the server (the server checks again). */
export function validateCalendar(draft: CalendarDraft, zones: readonly string[]): FieldErrors {
  const errors: FieldErrors = {};
  if (!draft.name.trim()) errors.name = "Give the calendar a name.";
  if (zones.length > 0 && !zones.includes(draft.time_zone)) errors.time_zone = "Pick an IANA time zone from the list.";
  if (draft.intervals.length === 0) errors.intervals = "Add at least one business-hours interval.";
  draft.intervals.forEach((i, n) => {
    const start = checkTimeOfDay(i.start);
    const end = checkTimeOfDay(i.end, true);
    if (start) errors[`intervals.${n}.start`] = start;
    if (end) errors[`intervals.${n}.end`] = end;
  });
  draft.holidays.forEach((h, n) => {
    if (h.kind === "date" && !/^\d{4}-\d{2}-\d{2}$/.test(h.date)) errors[`holidays.${n}.date`] = "Pick a date.";
    if (h.kind === "yearly" && !(h.day >= 1 && h.day <= (DAYS_IN_MONTH[h.month - 1] ?? 0)))
      errors[`holidays.${n}.day`] = `${MONTHS[h.month - 1] ?? "That month"} has no day ${h.day}.`;
  });
  return errors;
}

export function calendarBody(draft: CalendarDraft): CalendarCreate {
  return {
    name: draft.name.trim(),
    time_zone: draft.time_zone,
    intervals: draft.intervals.map(({ weekday, start, end }) => ({ weekday, start, end })),
    holidays: draft.holidays.map((h) =>
      h.kind === "date" ? { date: h.date, name: h.name.trim() } : { month: h.month, day: h.day, name: h.name.trim() },
    ),
  };
}

// -- policies --------------------------------------------------------------------------------
export interface TargetDraft extends HoursMinutes {
  on: boolean;
  business: boolean;
}
export interface MetadataDraft {
  key: string;
  value: string;
}
export interface PolicyDraft {
  name: string;
  enabled: boolean;
  calendar_id: string;
  warning_percent: string;
  pause_statuses: Status[];
  priorities: Priority[];
  customer_ids: string;
  mailbox_ids: string[];
  metadata: MetadataDraft[];
  targets: Record<Priority, Record<Kind, TargetDraft>>;
}

const DEFAULT_HOURS: Record<Priority, number> = { low: 24, normal: 8, high: 4, urgent: 1 };

export function policyDraft(policy: Policy | null): PolicyDraft {
  const targets = {} as PolicyDraft["targets"];
  for (const p of PRIORITIES) {
    targets[p] = {} as Record<Kind, TargetDraft>;
    for (const k of KINDS) {
      const t = policy ? policy.targets[p]?.[k] : null;
      const fallback = DEFAULT_HOURS[p] * (k === "resolution" ? 5 : 1) * 3600;
      targets[p][k] = { on: policy ? Boolean(t) : k !== "next_response", business: t?.business ?? true, ...splitSeconds(t?.seconds ?? fallback) };
    }
  }
  return {
    name: policy?.name ?? "",
    enabled: policy?.enabled ?? true,
    calendar_id: policy?.calendar_id ?? "",
    warning_percent: String(policy?.warning_percent ?? 80),
    pause_statuses: policy?.pause_statuses ?? ["pending", "on_hold"],
    priorities: policy?.conditions.priorities ?? [],
    customer_ids: (policy?.conditions.customer_ids ?? []).join("\n"),
    mailbox_ids: policy?.conditions.mailbox_ids ?? [],
    metadata: Object.entries(policy?.conditions.metadata ?? {}).map(([key, value]) => ({
      key,
      value: typeof value === "string" ? value : JSON.stringify(value),
    })),
    targets,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const META_KEY = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/** A metadata condition's value: JSON when it reads as JSON (`true`, `3`, `"x"`), else the text. */
export function metadataValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The body of a policy (without `position`) and the errors the form can see itself, keyed like
 * the API's (`targets.high.first_response`, `conditions.customer_ids`, …).
 */
export function policyBody(draft: PolicyDraft): { body: Omit<PolicyCreate, "position">; errors: FieldErrors } {
  const errors: FieldErrors = {};
  if (!draft.name.trim()) errors.name = "Give the policy a name.";
  const percent = draft.warning_percent.trim();
  if (!/^\d+$/.test(percent) || Number(percent) > 99) errors.warning_percent = "A whole percent from 0 (no warning) to 99.";
  const customers = draft.customer_ids.split(/[\s,]+/).filter(Boolean);
  const badCustomer = customers.find((c) => !UUID.test(c));
  if (badCustomer) errors["conditions.customer_ids"] = `Not a user id: ${badCustomer}`;
  const metadata: Record<string, unknown> = {};
  draft.metadata.forEach((m, n) => {
    const key = m.key.trim();
    if (!META_KEY.test(key)) errors[`conditions.metadata.${n}`] = "Keys are lowercase letters, digits, _ . - (up to 64).";
    else metadata[key] = metadataValue(m.value.trim());
  });
  const targets: PolicyCreate["targets"] = {};
  let business = false;
  for (const p of PRIORITIES) {
    const kinds: Record<string, { seconds: number; business: boolean }> = {};
    for (const k of KINDS) {
      const t = draft.targets[p][k];
      if (!t.on) continue;
      const parsed = parseHoursMinutes(t);
      if ("error" in parsed) errors[`targets.${p}.${k}`] = parsed.error;
      else kinds[k] = { seconds: parsed.seconds, business: t.business };
      business ||= t.business;
    }
    if (Object.keys(kinds).length > 0) targets[p] = kinds;
  }
  if (business && !draft.calendar_id) errors.calendar_id = "Business-time targets need a calendar (or switch them to calendar time).";
  return {
    body: {
      name: draft.name.trim(),
      enabled: draft.enabled,
      calendar_id: draft.calendar_id || null,
      warning_percent: Number(percent) || 0,
      pause_statuses: draft.pause_statuses,
      conditions: { priorities: draft.priorities, customer_ids: customers, mailbox_ids: draft.mailbox_ids, metadata },
      targets,
    },
    errors,
  };
}

/** A policy's conditions in words, for the list. */
export function describeConditions(policy: Policy, mailboxName: (id: string) => string): string {
  const c = policy.conditions;
  const parts: string[] = [];
  if (c.priorities?.length) parts.push(`priority ${c.priorities.join(" or ")}`);
  if (c.customer_ids?.length) parts.push(`${c.customer_ids.length} customer${c.customer_ids.length > 1 ? "s" : ""}`);
  if (c.mailbox_ids?.length) parts.push(`mailbox ${c.mailbox_ids.map(mailboxName).join(" or ")}`);
  for (const [k, v] of Object.entries(c.metadata ?? {})) parts.push(`${k} = ${JSON.stringify(v)}`);
  return parts.length ? parts.join("; ") : "Every ticket";
}

// -- order -----------------------------------------------------------------------------------
/**
 * Move the policy at `index` by `delta` (−1 up, +1 down): the whole list's ids in the new order,
 * as `PUT /api/v1/sla-policies/order` takes it (the server renumbers 0, 1, 2, … in one step), or
 * null when the move would pass an end.
 */
export function reorder<T extends { id: string }>(list: readonly T[], index: number, delta: -1 | 1): string[] | null {
  const target = index + delta;
  if (index < 0 || index >= list.length || target < 0 || target >= list.length) return null;
  const order = [...list];
  const [moved] = order.splice(index, 1);
  if (!moved) return null;
  order.splice(target, 0, moved);
  return order.map((p) => p.id);
}

/** The position of a new policy: after the last one. */
export function nextPosition(list: readonly { position: number }[]): number {
  return list.reduce((max, p) => Math.max(max, p.position + 1), 0);
}
