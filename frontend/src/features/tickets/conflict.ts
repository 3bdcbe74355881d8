// A stale If-Match (412) means someone else changed the ticket first. The UI never overwrites
// their change: it shows, per field the user edited, what they wanted and what it is now.

export const EDITABLE = ["title", "description", "status", "priority", "assigned_to"] as const;
export type EditableField = (typeof EDITABLE)[number];
export type TicketValues = Record<EditableField, string | null>;

export interface FieldConflict {
  field: EditableField;
  mine: string | null;
  theirs: string | null;
}

/** Fields of `mine` whose current (server) value is not what the user asked for. */
export function conflictingFields(mine: Partial<TicketValues>, current: TicketValues): FieldConflict[] {
  return EDITABLE.filter((field) => field in mine && mine[field] !== current[field]).map((field) => ({
    field,
    mine: mine[field] ?? null,
    theirs: current[field],
  }));
}

/** The If-Match header for a ticket version, as the API's ETag spells it. */
export function ifMatch(version: number): string {
  return `"${version}"`;
}

export const FIELD_LABELS: Record<EditableField, string> = {
  title: "Title",
  description: "Description",
  status: "Status",
  priority: "Priority",
  assigned_to: "Assignee",
};
