// The reports page's pure parts: URL state ↔ report query, period bounds in a zone, durations.

export const INTERVALS = ["day", "week", "month"] as const;
export const PRIORITIES = ["low", "normal", "high", "urgent"] as const;
export const GROUPS = ["channel", "priority", "agent"] as const;
export type Interval = (typeof INTERVALS)[number];

export type ReportControls = {
  from: string; // YYYY-MM-DD, first day (inclusive), in `zone`
  to: string; // YYYY-MM-DD, last day (inclusive), in `zone`
  interval: Interval;
  zone: string;
  priority: string;
  agent: string;
  groupBy: (typeof GROUPS)[number];
};

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The browser's IANA zone (UTC when it has none). */
export function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** The controls a URL holds; the last 30 days by day in the browser's zone by default. */
export function controlsFrom(params: URLSearchParams, today: Date = new Date()): ReportControls {
  const to = params.get("to") ?? isoDay(today);
  const from = params.get("from") ?? isoDay(new Date(Date.parse(`${to}T00:00:00Z`) - 29 * 86_400_000));
  const interval = params.get("interval");
  const groupBy = params.get("group_by");
  return {
    from,
    to,
    interval: (INTERVALS as readonly string[]).includes(interval ?? "") ? (interval as Interval) : "day",
    zone: params.get("time_zone") ?? browserZone(),
    priority: params.get("priority") ?? "",
    agent: params.get("agent") ?? "",
    groupBy: (GROUPS as readonly string[]).includes(groupBy ?? "") ? (groupBy as ReportControls["groupBy"]) : "channel",
  };
}

/** The URL of a set of controls (defaults left out). */
export function controlsToParams(c: ReportControls): URLSearchParams {
  const p = new URLSearchParams({ from: c.from, to: c.to, interval: c.interval, time_zone: c.zone });
  if (c.priority) p.set("priority", c.priority);
  if (c.agent) p.set("agent", c.agent);
  if (c.groupBy !== "channel") p.set("group_by", c.groupBy);
  return p;
}

/** Offset of `zone` from UTC at `instant`, in minutes (e.g. +60 for Berlin in winter). */
export function zoneOffsetMinutes(zone: string, instant: Date): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return Math.round((asUtc - instant.getTime()) / 60_000);
}

/** Local midnight of `day` (YYYY-MM-DD) in `zone`, as an RFC 3339 instant with offset Z. */
export function localMidnight(day: string, zone: string): string {
  const naive = Date.parse(`${day}T00:00:00Z`);
  // Two passes: the offset at the guess, then at the corrected instant (DST days).
  let instant = naive - zoneOffsetMinutes(zone, new Date(naive)) * 60_000;
  instant = naive - zoneOffsetMinutes(zone, new Date(instant)) * 60_000;
  return new Date(instant).toISOString().replace(".000Z", "Z");
}

function nextDay(day: string): string {
  return isoDay(new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000));
}

/** The REST query of the controls: [from 00:00, the day after `to` 00:00) in the zone. */
export function reportQuery(c: ReportControls): Record<string, string> {
  const q: Record<string, string> = {
    period_start: localMidnight(c.from, c.zone),
    period_end: localMidnight(nextDay(c.to), c.zone),
    interval: c.interval,
    time_zone: c.zone,
  };
  if (c.priority) q.priority = c.priority;
  if (c.agent) q.agent = c.agent;
  return q;
}

/** The CSV download link of a report. */
export function csvHref(report: string, query: Record<string, string>): string {
  return `/api/v1/reports/${report}?${new URLSearchParams({ ...query, format: "csv" }).toString()}`;
}

/** Seconds as "45 s", "12 min", "3.5 h", "2.1 d"; "—" for none. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86_400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

/** A bucket's start as a label in the report's zone: "3 Nov", "Nov 2026" for months. */
export function bucketLabel(start: string, interval: Interval, zone: string): string {
  const options: Intl.DateTimeFormatOptions =
    interval === "month" ? { month: "short", year: "numeric", timeZone: zone } : { day: "numeric", month: "short", timeZone: zone };
  return new Intl.DateTimeFormat("en-GB", options).format(new Date(start));
}

/** A share as "50 %"; "—" for none. */
export function formatRate(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? "—" : `${Math.round(rate * 1000) / 10} %`;
}

type DurationFigures = { source: string; approximate: boolean };

/** A median or 90th percentile: "≈ 3.5 h" when the report says it is approximate (from the
 * rollups' histogram, within 5 %); "—" for none. */
export function formatPercentile(seconds: number | null | undefined, report: DurationFigures): string {
  const text = formatDuration(seconds);
  return report.approximate && text !== "—" ? `≈ ${text}` : text;
}

/** Whether a duration report has the SLA clocks' own figures: the facts do, the rollups do not
 * (clocks are recomputed after the fact, so they are not rolled up). */
export function hasClockFigures(report: DurationFigures): boolean {
  return report.source !== "rollup";
}

/** The note under a report: where its figures come from and whether some are approximate. */
export function sourceNote(report: DurationFigures): string {
  if (report.source === "rollup") {
    return report.approximate
      ? "From daily rollups; ≈ marks medians and 90th percentiles, which are within 5 % of the exact value."
      : "From daily rollups; exact.";
  }
  if (report.source === "clocks") return "From the SLA clocks; exact.";
  return "From the metric facts; exact.";
}
