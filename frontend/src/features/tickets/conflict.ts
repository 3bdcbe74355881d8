// A stale If-Match is merged by the API when the change touches fields nobody else changed
// since; a 412 means someone changed the *same* field. The UI never overwrites their change: it
// shows, per field, their value and the user's.

export const EDITABLE = ["title", "description", "status", "priority", "assigned_to", "team_id"] as const;
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

function isField(value: unknown): value is EditableField {
  return typeof value === "string" && (EDITABLE as readonly string[]).includes(value);
}

const text = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

/** The conflicts a 412 problem names (`conflicts[]`: field, your_value, current_value). */
export function conflictsOfProblem(body: Record<string, unknown>): FieldConflict[] | null {
  const raw = body.conflicts;
  if (!Array.isArray(raw)) return null;
  return raw.flatMap((item: unknown) => {
    if (typeof item !== "object" || item === null) return [];
    const c = item as Record<string, unknown>;
    return isField(c.field) ? [{ field: c.field, mine: text(c.your_value), theirs: text(c.current_value) }] : [];
  });
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
  team_id: "Team",
};
