/** An excerpt as the API sends it: runs of plain text, the matched ones flagged. */
export type ExcerptPart = { text: string; match: boolean };

/** Collapse the runs' whitespace (messages keep their line breaks; an excerpt is one line). */
export function excerptRuns(parts: ExcerptPart[]): ExcerptPart[] {
  const runs: ExcerptPart[] = [];
  for (const part of parts) {
    if (!part.text) continue;
    const last = runs[runs.length - 1];
    if (last && last.match === part.match) last.text += part.text;
    else runs.push({ text: part.text, match: part.match });
  }
  return runs.map((run) => ({ ...run, text: run.text.replace(/\s+/g, " ") }));
}

/** The whole excerpt as plain text (for a screen reader's summary, a title attribute). */
export function excerptText(parts: ExcerptPart[]): string {
  return excerptRuns(parts).map((p) => p.text).join("").trim();
}
