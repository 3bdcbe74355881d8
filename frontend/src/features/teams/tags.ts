// Tag suggestions: the API has no tag list, so the console suggests the tags of the tickets it
// has already loaded (inbox pages and open tickets), most used first.

interface Tagged {
  tags?: readonly string[] | null;
}

/** Distinct tags of `tickets`, most frequent first, then alphabetical; at most `limit`. */
export function collectTags(tickets: Iterable<Tagged>, limit = 200): string[] {
  const counts = new Map<string, number>();
  for (const t of tickets) {
    for (const tag of t.tags ?? []) counts.set(tag, (counts.get(tag) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, limit)
    .map(([tag]) => tag);
}

/** The tickets in cached query data: list pages (`{pages: [{data}]}`) and single tickets. */
export function ticketsInCache(entries: readonly unknown[]): Tagged[] {
  const out: Tagged[] = [];
  for (const entry of entries) {
    if (!entry || typeof entry !== "object") continue;
    const pages = (entry as { pages?: unknown }).pages;
    if (Array.isArray(pages)) {
      for (const page of pages) {
        const data = (page as { data?: unknown } | null)?.data;
        if (Array.isArray(data)) out.push(...(data as Tagged[]));
      }
    } else if (Array.isArray((entry as Tagged).tags)) {
      out.push(entry as Tagged);
    }
  }
  return out;
}
