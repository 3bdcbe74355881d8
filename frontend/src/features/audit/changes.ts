// An audit row's `changes` as lines a person reads: "status: new → open" for an update (the
// triggers store [old, new] per changed column), "name: Ana" for what was created.

export interface ChangeLine {
  key: string;
  text: string;
}

const MAX = 120;

function show(value: unknown): string {
  if (value === null || value === undefined) return "(none)";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > MAX ? `${text.slice(0, MAX - 1)}…` : text;
}

/** True for actions whose `changes` hold `[old, new]` pairs (the triggers' diffs). */
export function isDiff(action: string): boolean {
  return /\.(updated|deleted|restored)$/.test(action);
}

export function changeLines(action: string, changes: Record<string, unknown> | null | undefined): ChangeLine[] {
  if (!changes) return [];
  const diff = isDiff(action);
  return Object.entries(changes).map(([key, value]) => {
    if (diff && Array.isArray(value) && value.length === 2) {
      return { key, text: `${show(value[0])} → ${show(value[1])}` };
    }
    return { key, text: show(value) };
  });
}
