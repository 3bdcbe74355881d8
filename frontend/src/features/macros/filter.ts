// The macro picker's "type to filter": every word must appear in the name (or the reply text);
// names that start with the query come first, then the most used.

interface Pickable {
  name: string;
  body: string;
  usage_count: number;
}

export function filterMacros<T extends Pickable>(macros: readonly T[], query: string): T[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const q = words.join(" ");
  const score = (m: T): number | null => {
    const name = m.name.toLowerCase();
    const text = `${name} ${m.body.toLowerCase()}`;
    if (!words.every((w) => text.includes(w))) return null;
    if (q && name.startsWith(q)) return 0;
    if (words.every((w) => name.includes(w))) return 1;
    return 2;
  };
  return macros
    .map((m) => [m, score(m)] as const)
    .filter((pair): pair is readonly [T, number] => pair[1] !== null)
    .sort((a, b) => a[1] - b[1] || b[0].usage_count - a[0].usage_count || a[0].name.localeCompare(b[0].name))
    .map(([m]) => m);
}

/** The composer's text after a macro: its reply alone, or after what was already typed. */
export function insertReply(current: string, reply: string): string {
  if (!reply.trim()) return current;
  if (!current.trim()) return reply;
  return `${current.replace(/\s+$/, "")}\n\n${reply}`;
}

/** The placeholders a template uses (shown beside the editor), e.g. ["ticket.number"]. */
export function placeholdersIn(template: string): string[] {
  const found = new Set<string>();
  for (const m of template.matchAll(/\{\{\s*([a-zA-Z_][\w.]*)/g)) found.add(m[1] as string);
  return [...found];
}
