export const METADATA_KEY = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/** A typed value: valid JSON is kept as JSON (numbers, true, {"a":1}); anything else is text. */
export function parseMetadataValue(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === "") return "";
  try {
    return JSON.parse(trimmed);
  } catch {
    return text;
  }
}

export function showMetadataValue(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}
