// Rule order: the list shows rules by `position`; "Move up/down" swaps two neighbours. Equal
// positions (rules created without one) are spread out first, so a swap always changes the order.

interface Positioned {
  id: string;
  position: number;
}

/** The PATCHes (id → new position) that move `id` one place up (-1) or down (+1). */
export function moveRule(rules: readonly Positioned[], id: string, step: -1 | 1): Map<string, number> {
  const i = rules.findIndex((r) => r.id === id);
  const j = i + step;
  const changes = new Map<string, number>();
  if (i < 0 || j < 0 || j >= rules.length) return changes;
  // Positions 10, 20, 30 … in the current order: room for later inserts, and no ties.
  const spread = rules.map((r, k) => ({ id: r.id, position: (k + 1) * 10 }));
  const a = spread[i] as Positioned;
  const b = spread[j] as Positioned;
  [a.position, b.position] = [b.position, a.position];
  for (const [k, r] of spread.entries()) {
    if ((rules[k] as Positioned).position !== r.position) changes.set(r.id, r.position);
  }
  return changes;
}

/** The position a new rule gets: after the last one. */
export function nextPosition(rules: readonly Positioned[]): number {
  return rules.reduce((max, r) => Math.max(max, r.position), 0) + 10;
}
