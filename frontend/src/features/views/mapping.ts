// A saved view's `query` holds the ticket list's own parameters (GET /api/v1/tickets); the inbox
// keeps its state in the URL. These map one to the other.
import type { components } from "../../lib/api/client";
import {
  DEFAULT_FILTERS,
  type InboxFilters,
  PRIORITIES,
  SORTS,
  STATUSES,
  type Sort,
  filtersToParams,
} from "../inbox/filters";

export type ViewQuery = components["schemas"]["ViewQuery"];

/** The view query for the inbox's filters ("me" is stored as the user's id: views are private). */
export function viewQueryFromFilters(filters: InboxFilters, meId: string | null): ViewQuery {
  const query: ViewQuery = {};
  if (filters.status.length) query.status = [...filters.status];
  if (filters.priority) query.priority = filters.priority;
  const assignee = filters.assignee === "me" ? meId : filters.assignee;
  if (assignee) query.assigned_to = assignee;
  if (filters.q.trim()) {
    query.q = filters.q.trim();
    query.q_scope = "all"; // the inbox's search box looks everywhere
  }
  if (filters.tag) query.tag = [filters.tag];
  if (filters.team) query.team_id = filters.team;
  if (filters.customer) query.customer_id = filters.customer;
  if (filters.sort !== DEFAULT_FILTERS.sort) query.sort = filters.sort;
  return query;
}

/** The inbox filters a view applies. No `status` in a view means every status. */
export function filtersFromViewQuery(query: ViewQuery, meId: string | null, sorts: readonly Sort[] = SORTS): InboxFilters {
  const status = query.status ?? [];
  const sort = query.sort && (sorts as readonly string[]).includes(query.sort) ? (query.sort as Sort) : DEFAULT_FILTERS.sort;
  return {
    status: STATUSES.filter((s) => status.includes(s)),
    priority: query.priority && PRIORITIES.includes(query.priority) ? query.priority : null,
    assignee: query.assigned_to ? (query.assigned_to === meId ? "me" : query.assigned_to) : null,
    q: query.q ?? "",
    sort,
    tag: query.tag?.[0] ?? null,
    team: query.team_id ?? null,
    customer: query.customer_id ?? null,
  };
}

/** The inbox URL parameters that show a view. */
export function paramsForView(
  query: ViewQuery,
  meId: string | null,
  defaults: InboxFilters,
  sorts: readonly Sort[] = SORTS,
): URLSearchParams {
  return filtersToParams(filtersFromViewQuery(query, meId, sorts), defaults);
}

/** The view whose filters are the inbox's current ones (null: none matches). */
export function matchingView<V extends { query: ViewQuery }>(
  views: readonly V[],
  filters: InboxFilters,
  meId: string | null,
  defaults: InboxFilters,
): V | null {
  const current = filtersToParams(filters, defaults).toString();
  return views.find((v) => paramsForView(v.query, meId, defaults).toString() === current) ?? null;
}

const SHOWN = new Set(["status", "priority", "assigned_to", "q", "q_scope", "tag", "team_id", "customer_id", "sort"]);

/** The view's filters the inbox has no control for (set through the API): not applied here. */
export function filtersNotShown(query: ViewQuery): string[] {
  const keys = Object.entries(query)
    .filter(([key, value]) => value !== null && value !== undefined && !SHOWN.has(key))
    .map(([key]) => key);
  if ((query.tag?.length ?? 0) > 1) keys.push("tag");
  return keys.sort();
}

/** Move a view one place up (-1) or down (+1): the positions to save, only those that change
 * (the list is numbered 0, 1, 2… in its new order). */
export function reorder<V extends { id: string; position: number }>(
  views: readonly V[],
  id: string,
  step: -1 | 1,
): { id: string; position: number }[] {
  const from = views.findIndex((v) => v.id === id);
  const moving = views[from];
  const other = views[from + step];
  if (!moving || !other) return [];
  const order = views.map((v) => (v === moving ? other.id : v === other ? moving.id : v.id));
  return order
    .map((viewId, position) => ({ id: viewId, position }))
    .filter(({ id: viewId, position }) => views.find((v) => v.id === viewId)?.position !== position);
}
