// Audit viewer filters, kept in the URL.
export const AUDIT_FILTERS = [
  "action",
  "actor_id",
  "actor_type",
  "entity_type",
  "entity_id",
  "outcome",
  "request_id",
  "occurred_after",
  "occurred_before",
] as const;
export type AuditFilter = (typeof AUDIT_FILTERS)[number];

/** The API query for the URL's filters (dates from <input type=date> become RFC 3339, UTC). */
export function auditQuery(params: URLSearchParams): Partial<Record<AuditFilter, string>> {
  const query: Partial<Record<AuditFilter, string>> = {};
  for (const name of AUDIT_FILTERS) {
    const value = params.get(name)?.trim();
    if (!value) continue;
    if (name === "occurred_after" || name === "occurred_before") {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) continue;
      query[name] = name === "occurred_after" ? `${value}T00:00:00Z` : `${value}T23:59:59.999Z`;
    } else {
      query[name] = value;
    }
  }
  return query;
}
