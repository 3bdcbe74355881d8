// Which inbox rows are selected for a bulk change: pure functions over ids (the rows in view
// order), so the rules are tested without a browser.

export interface Selection {
  ids: ReadonlySet<string>;
  /** The row a shift-click extends from (the last one clicked or toggled with x). */
  anchor: string | null;
}

export const EMPTY_SELECTION: Selection = { ids: new Set(), anchor: null };

/** Toggle one row, which becomes the anchor. */
export function toggle(selection: Selection, id: string): Selection {
  const ids = new Set(selection.ids);
  if (ids.has(id)) ids.delete(id);
  else ids.add(id);
  return { ids, anchor: id };
}

/** Shift-click: every row between the anchor and `id` (inclusive) takes the state of the
 * clicked row's new state, as in a mail client; without an anchor it is a plain toggle. */
export function extendTo(selection: Selection, rows: readonly string[], id: string): Selection {
  const from = selection.anchor === null ? -1 : rows.indexOf(selection.anchor);
  const to = rows.indexOf(id);
  if (from < 0 || to < 0) return toggle(selection, id);
  const select = !selection.ids.has(id);
  const ids = new Set(selection.ids);
  const [lo, hi] = from < to ? [from, to] : [to, from];
  for (const row of rows.slice(lo, hi + 1)) {
    if (select) ids.add(row);
    else ids.delete(row);
  }
  return { ids, anchor: id };
}

/** The header checkbox: select every row in view, or clear when all of them are selected. */
export function toggleAll(selection: Selection, rows: readonly string[]): Selection {
  if (rows.length > 0 && rows.every((r) => selection.ids.has(r))) return EMPTY_SELECTION;
  return { ids: new Set([...selection.ids, ...rows]), anchor: selection.anchor };
}

/** Keep only rows still in view (a filter changed, a ticket left the list). */
export function keepVisible(selection: Selection, rows: readonly string[]): Selection {
  const visible = new Set(rows);
  const ids = new Set([...selection.ids].filter((id) => visible.has(id)));
  if (ids.size === selection.ids.size) return selection;
  return { ids, anchor: selection.anchor !== null && visible.has(selection.anchor) ? selection.anchor : null };
}

/** "all", "some" (the header checkbox is mixed) or "none" of the rows in view. */
export function headerState(selection: Selection, rows: readonly string[]): "all" | "some" | "none" {
  const count = rows.filter((r) => selection.ids.has(r)).length;
  if (count === 0) return "none";
  return count === rows.length ? "all" : "some";
}

/** The selected ids in row order (the order the bulk request and its results use). */
export function selectedInOrder(selection: Selection, rows: readonly string[]): string[] {
  return rows.filter((r) => selection.ids.has(r));
}
