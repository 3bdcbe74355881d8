/** A message when `value` is longer than `max` characters (said, never silently cut). */
export function tooLong(value: string, max: number, what = "Text"): string | null {
  const length = [...value].length;
  if (length <= max) return null;
  return `${what} is ${length.toLocaleString("en")} characters; the limit is ${max.toLocaleString("en")}. Shorten it by ${(length - max).toLocaleString("en")}.`;
}
