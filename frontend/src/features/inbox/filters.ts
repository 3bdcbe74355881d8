// Inbox state lives in the URL (bookmarkable, shareable): parse and serialize it here.

export const STATUSES = ["new", "open", "pending", "on_hold", "solved", "closed"] as const;
export const PRIORITIES = ["low", "normal", "high", "urgent"] as const;
export const SORTS = ["-updated_at", "updated_at", "-created_at", "created_at", "sla_due"] as const;
/** The orders a customer may use (`sla_due` is staff-only: the API refuses it with a 403). */
export const CUSTOMER_SORTS: readonly Sort[] = SORTS.filter((s) => s !== "sla_due");

export type Status = (typeof STATUSES)[number];
export type Priority = (typeof PRIORITIES)[number];
export type Sort = (typeof SORTS)[number];

export interface InboxFilters {
  status: Status[];
  priority: Priority | null;
  /** "me", "none" is not supported by the API; a user id, or null for everyone. */
  assignee: string | null;
  q: string;
  sort: Sort;
  /** Tickets carrying this tag. */
  tag: string | null;
  /** A team id (the select groups the user's own teams first). */
  team: string | null;
  /** A customer's id: their tickets only (staff; the ticket page's customer panel links here). */
  customer: string | null;
}

export const DEFAULT_FILTERS: InboxFilters = {
  status: [],
  priority: null,
  assignee: null,
  q: "",
  sort: "-updated_at",
  tag: null,
  team: null,
  customer: null,
};

/** The agents' inbox by default: what still needs work (solved and closed are a click away). */
export const OPEN_STATUSES: Status[] = ["new", "open", "pending", "on_hold"];
export const AGENT_DEFAULTS: InboxFilters = { ...DEFAULT_FILTERS, status: OPEN_STATUSES };

// `status=all` in the URL: every status, when the default is a subset.
const ALL = "all";

const TAG = /^[a-z0-9][a-z0-9_.:-]{0,49}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function oneOf<T extends string>(values: readonly T[], value: string | null): T | null {
  return value !== null && (values as readonly string[]).includes(value) ? (value as T) : null;
}

export function parseFilters(
  params: URLSearchParams,
  defaults: InboxFilters = DEFAULT_FILTERS,
  sorts: readonly Sort[] = SORTS,
): InboxFilters {
  const raw = params.get("status");
  const status = (raw === null ? defaults.status.join(",") : raw === ALL ? "" : raw)
    .split(",")
    .map((s) => oneOf(STATUSES, s.trim()))
    .filter((s): s is Status => s !== null);
  const assignee = params.get("assignee");
  return {
    status: STATUSES.filter((s) => status.includes(s)),
    priority: oneOf(PRIORITIES, params.get("priority")),
    assignee: assignee === "me" || (assignee && UUID.test(assignee)) ? assignee : null,
    q: (params.get("q") ?? "").slice(0, 200),
    sort: oneOf(sorts, params.get("sort")) ?? DEFAULT_FILTERS.sort,
    tag: TAG.test(params.get("tag") ?? "") ? params.get("tag") : null,
    team: UUID.test(params.get("team") ?? "") ? params.get("team") : null,
    customer: UUID.test(params.get("customer") ?? "") ? params.get("customer") : null,
  };
}

const sameStatuses = (a: Status[], b: Status[]) => a.length === b.length && a.every((s) => b.includes(s));

/** URL parameters for filters; defaults are left out so plain URLs stay plain. */
export function filtersToParams(filters: InboxFilters, defaults: InboxFilters = DEFAULT_FILTERS): URLSearchParams {
  const params = new URLSearchParams();
  if (!sameStatuses(filters.status, defaults.status)) {
    params.set("status", filters.status.length ? filters.status.join(",") : ALL);
  }
  if (filters.priority) params.set("priority", filters.priority);
  if (filters.assignee) params.set("assignee", filters.assignee);
  if (filters.q.trim()) params.set("q", filters.q.trim());
  if (filters.sort !== DEFAULT_FILTERS.sort) params.set("sort", filters.sort);
  if (filters.tag) params.set("tag", filters.tag);
  if (filters.team) params.set("team", filters.team);
  if (filters.customer) params.set("customer", filters.customer);
  return params;
}

export interface TicketListQuery {
  status?: string;
  priority?: Priority;
  assigned_to?: string;
  q?: string;
  q_scope?: "tickets" | "messages" | "all";
  tag?: string[];
  team_id?: string;
  customer_id?: string;
  sort: Sort;
  limit: number;
}

/** The API query for the filters ("me" becomes the signed-in user's id). */
export function toApiQuery(filters: InboxFilters, meId: string | null, limit = 50): TicketListQuery {
  const query: TicketListQuery = { sort: filters.sort, limit };
  if (filters.status.length) query.status = filters.status.join(",");
  if (filters.priority) query.priority = filters.priority;
  const assignee = filters.assignee === "me" ? meId : filters.assignee;
  if (assignee) query.assigned_to = assignee;
  if (filters.q.trim()) {
    // The inbox's search box looks everywhere: title, description, number, the customer (staff)
    // and the conversation's messages.
    query.q = filters.q.trim();
    query.q_scope = "all";
  }
  if (filters.tag) query.tag = [filters.tag];
  if (filters.team) query.team_id = filters.team;
  if (filters.customer) query.customer_id = filters.customer;
  return query;
}

/** Move a row selection by `step`, staying within the list. */
export function moveSelection(current: number, step: number, length: number): number {
  if (length === 0) return -1;
  if (current < 0) return step > 0 ? 0 : length - 1;
  return Math.min(length - 1, Math.max(0, current + step));
}
