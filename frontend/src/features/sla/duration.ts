/** Durations of SLA targets: the API speaks seconds, people speak hours and minutes. */

export interface HoursMinutes {
  hours: string;
  minutes: string;
}

/** 5400 → { hours: "1", minutes: "30" } (what the two inputs show). */
export function splitSeconds(seconds: number): HoursMinutes {
  const total = Math.max(0, Math.round(seconds / 60));
  return { hours: String(Math.floor(total / 60)), minutes: String(total % 60) };
}

const WHOLE = /^\d+$/;

/**
 * The seconds of "hours" + "minutes" as typed, or why they are not a duration. Empty counts as
 * 0; both must be whole numbers, minutes below 60; the API allows 1 minute to 366 days.
 */
export function parseHoursMinutes(value: HoursMinutes): { seconds: number } | { error: string } {
  const hours = value.hours.trim() || "0";
  const minutes = value.minutes.trim() || "0";
  if (!WHOLE.test(hours) || !WHOLE.test(minutes)) return { error: "Hours and minutes are whole numbers." };
  const h = Number(hours);
  const m = Number(minutes);
  if (m >= 60) return { error: "Minutes must be below 60." };
  const seconds = h * 3600 + m * 60;
  if (seconds < 60) return { error: "At least 1 minute." };
  if (seconds > 366 * 86400) return { error: "At most 366 days (8784 hours)." };
  return { seconds };
}

/** 5400 → "1 h 30 min"; 7200 → "2 h"; 2700 → "45 min"; 90061 → "25 h 1 min". */
export function formatDuration(seconds: number): string {
  const { hours, minutes } = splitSeconds(seconds);
  const parts = [];
  if (hours !== "0") parts.push(`${hours} h`);
  if (minutes !== "0" || hours === "0") parts.push(`${minutes} min`);
  return parts.join(" ");
}

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const HHMM_END = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/;

/** A weekly interval's start/end as the API wants them (`HH:MM`, end may be `24:00`). */
export function checkTimeOfDay(value: string, end = false): string | null {
  return (end ? HHMM_END : HHMM).test(value) ? null : `Use HH:MM${end ? " (24:00 is midnight)" : ""}.`;
}

/** An interval whose end is not after its start runs overnight into the next day. */
export function isOvernight(start: string, end: string): boolean {
  return end !== "24:00" && end <= start;
}
