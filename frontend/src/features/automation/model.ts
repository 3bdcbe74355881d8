// Conditions and actions of rules (and actions of macros) as the editors build them: every
// field, operator and value comes from a list, and these functions turn the form's drafts into
// the API's JSON and back. Pure, so the rules of the editor are tested without a browser.

import type { components } from "../../lib/api/client";

export type ApiAction = components["schemas"]["MacroCreate"]["actions"] extends (infer A)[] | undefined ? A : never;

export const STATUSES = ["new", "open", "pending", "on_hold", "solved", "closed"];
export const PRIORITIES = ["low", "normal", "high", "urgent"];
export const EVENTS = [
  "ticket.created",
  "ticket.updated",
  "ticket.deleted",
  "message.customer",
  "message.agent",
  "message.internal",
  "message.system",
  "metadata.changed",
  "attachment.added",
  "sla.warning",
  "sla.breached",
];
export const CHANGEABLE = ["status", "priority", "assigned_to", "team_id", "title", "description", "tags"];

/** How a field's value is chosen: from a list (enum), a person, a team, or typed. */
export type ValueKind = "event" | "status" | "priority" | "user" | "team" | "text" | "number" | "tag" | "field" | "duration";

export interface FieldDef {
  field: string;
  label: string;
  kind: ValueKind;
  ops: string[];
}

const SCALAR_OPS = ["eq", "ne", "in", "not_in", "exists", "not_exists", "changed", "changed_to"];
const TEXT_OPS = ["eq", "ne", "contains", "not_contains", "exists", "not_exists", "changed", "changed_to"];

export const FIELDS: FieldDef[] = [
  { field: "event", label: "Event", kind: "event", ops: ["eq", "ne", "in", "not_in"] },
  { field: "status", label: "Status", kind: "status", ops: SCALAR_OPS },
  { field: "priority", label: "Priority", kind: "priority", ops: SCALAR_OPS },
  { field: "assigned_to", label: "Assignee", kind: "user", ops: ["eq", "ne", "exists", "not_exists", "changed", "changed_to"] },
  { field: "team_id", label: "Team", kind: "team", ops: ["eq", "ne", "exists", "not_exists", "changed", "changed_to"] },
  { field: "tags", label: "Tags", kind: "tag", ops: ["includes", "excludes", "changed"] },
  { field: "changed", label: "Fields changed", kind: "field", ops: ["includes", "excludes"] },
  { field: "title", label: "Title", kind: "text", ops: TEXT_OPS },
  { field: "description", label: "Description", kind: "text", ops: TEXT_OPS },
  { field: "number", label: "Number", kind: "number", ops: ["eq", "ne", "exists"] },
  { field: "metadata", label: "Metadata key…", kind: "text", ops: ["eq", "ne", "contains", "not_contains", "exists", "not_exists"] },
  // Time rules ("pending for 3 business days"): run from a schedule, only in "all", and not
  // beside `event` or `changed` conditions (the API says so when they are mixed).
  { field: "time.created", label: "Time since created", kind: "duration", ops: ["older_than"] },
  { field: "time.updated", label: "Time since the last change", kind: "duration", ops: ["older_than"] },
  { field: "time.status_changed", label: "Time in the current status", kind: "duration", ops: ["older_than"] },
  { field: "time.assignee_changed", label: "Time since the assignee changed", kind: "duration", ops: ["older_than"] },
  { field: "time.customer_message", label: "Time since the customer's last message", kind: "duration", ops: ["older_than"] },
  { field: "time.agent_reply", label: "Time since the last agent reply", kind: "duration", ops: ["older_than"] },
];

export const TIME_UNITS: [string, string][] = [
  ["minutes", "minutes"],
  ["hours", "hours"],
  ["days", "days"],
  ["business_minutes", "business minutes"],
  ["business_hours", "business hours"],
  ["business_days", "business days"],
];
export const isBusinessUnit = (unit: string | undefined) => (unit ?? "").startsWith("business_");

export const OP_LABELS: Record<string, string> = {
  eq: "is",
  ne: "is not",
  in: "is one of",
  not_in: "is none of",
  contains: "contains",
  not_contains: "does not contain",
  includes: "includes",
  excludes: "does not include",
  exists: "is set",
  not_exists: "is not set",
  changed: "changed",
  changed_to: "changed to",
  older_than: "is longer than",
};

export const needsValue = (op: string) => !["exists", "not_exists", "changed"].includes(op);
export const isListOp = (op: string) => op === "in" || op === "not_in";

export interface ConditionDraft {
  field: string; // a FIELDS entry's field ("metadata" for metadata.<key>)
  key: string; // the metadata key
  op: string;
  value: string; // for lists: comma-separated; for a time: the amount
  unit?: string; // a time: minutes … business_days
  calendar?: string; // a time in business units: the SLA calendar's id
}

export const fieldDef = (field: string): FieldDef => FIELDS.find((f) => f.field === field) ?? (FIELDS[0] as FieldDef);

export function newCondition(field = "event"): ConditionDraft {
  const def = fieldDef(field);
  if (def.kind === "duration") return { field, key: "", op: "older_than", value: "1", unit: "hours", calendar: "" };
  const first = def.kind === "event" ? (EVENTS[0] as string) : def.kind === "status" ? "new" : def.kind === "priority" ? "urgent" : "";
  return { field, key: "", op: def.ops[0] as string, value: first };
}

/** A draft whose field changed: keep the operator when the new field has it. */
export function withField(draft: ConditionDraft, field: string): ConditionDraft {
  const fresh = newCondition(field);
  const def = fieldDef(field);
  return def.ops.includes(draft.op) ? { ...fresh, op: draft.op } : fresh;
}

export type ApiCondition = { field: string; op: string; value?: unknown };

/** The API's condition, or the reason the draft is incomplete. */
export function conditionToApi(d: ConditionDraft): ApiCondition | { error: string } {
  const field = d.field === "metadata" ? `metadata.${d.key.trim()}` : d.field;
  if (d.field === "metadata" && !/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(d.key.trim())) {
    return { error: "A metadata key is lower-case letters, digits and . _ - (at most 64)." };
  }
  if (!needsValue(d.op)) return { field, op: d.op };
  const kind = fieldDef(d.field).kind;
  if (kind === "duration") {
    const amount = Number(d.value);
    const label = fieldDef(d.field).label;
    if (!Number.isInteger(amount) || amount < 1) return { error: `${label}: a whole number of at least 1.` };
    const unit = d.unit ?? "hours";
    if (!isBusinessUnit(unit)) return { field, op: "older_than", value: { amount, unit } };
    if (!UUID_RE.test(d.calendar ?? "")) return { error: `${label}: business time needs a calendar.` };
    return { field, op: "older_than", value: { amount, unit, calendar_id: d.calendar } };
  }
  if (isListOp(d.op)) {
    const values = d.value.split(",").map((v) => v.trim()).filter(Boolean);
    if (values.length === 0) return { error: `${fieldDef(d.field).label}: give at least one value.` };
    return { field, op: d.op, value: values };
  }
  if (d.value.trim() === "" && kind !== "text") return { error: `${fieldDef(d.field).label}: choose a value.` };
  if (kind === "number") {
    const n = Number(d.value);
    if (!Number.isInteger(n)) return { error: "Number: a whole number." };
    return { field, op: d.op, value: n };
  }
  return { field, op: d.op, value: d.value.trim() };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function conditionFromApi(c: ApiCondition): ConditionDraft {
  if (c.field.startsWith("time.") && c.value && typeof c.value === "object") {
    const v = c.value as { amount?: unknown; unit?: unknown; calendar_id?: unknown };
    const str = (x: unknown) => (x === undefined || x === null ? "" : String(x));
    return { field: c.field, key: "", op: c.op, value: str(v.amount), unit: str(v.unit) || "hours", calendar: str(v.calendar_id) };
  }
  const metadata = c.field.startsWith("metadata.");
  const value = Array.isArray(c.value) ? c.value.join(", ") : c.value === undefined || c.value === null ? "" : String(c.value);
  return { field: metadata ? "metadata" : c.field, key: metadata ? c.field.slice("metadata.".length) : "", op: c.op, value };
}

/** Both lists of a rule's conditions, or the first problem. */
export function conditionsToApi(all: ConditionDraft[], any: ConditionDraft[]): { all: ApiCondition[]; any: ApiCondition[] } | { error: string } {
  const out: { all: ApiCondition[]; any: ApiCondition[] } = { all: [], any: [] };
  for (const [list, drafts] of [["all", all], ["any", any]] as const) {
    for (const d of drafts) {
      const c = conditionToApi(d);
      if ("error" in c) return c;
      out[list].push(c);
    }
  }
  return out;
}

// ---- actions ------------------------------------------------------------------------------

export type ActionType = ApiAction["type"];

export const ACTION_LABELS: Record<ActionType, string> = {
  set: "Set a field",
  add_tags: "Add tags",
  remove_tags: "Remove tags",
  set_metadata: "Set metadata",
  internal_note: "Add an internal note",
  reply: "Send a reply",
  assign_round_robin: "Assign in turn within a team",
  assign: "Assign within a team (in turn, or the least loaded)",
  webhook: "Call a webhook",
};

/** What macros offer (the rest need an event: rules only). */
export const MACRO_ACTIONS: ActionType[] = ["set", "add_tags", "remove_tags", "set_metadata", "internal_note"];
export const RULE_ACTIONS: ActionType[] = [...MACRO_ACTIONS, "reply", "assign", "assign_round_robin", "webhook"];

export interface ActionDraft {
  type: ActionType;
  field: string; // set: status | priority | assigned_to | team_id
  value: string; // set: the value ("" = none for assignee/team); set_metadata: JSON text; assign: strategy
  tags: string; // comma-separated
  key: string; // set_metadata
  body: string; // internal_note, reply
  target: string; // assign, assign_round_robin: team id; webhook: endpoint id
}

export function newAction(type: ActionType = "set"): ActionDraft {
  const value = type === "set" ? "open" : type === "assign" ? "round_robin" : "";
  return { type, field: "status", value, tags: "", key: "", body: "", target: "" };
}

const TAG = /^[a-z0-9][a-z0-9_.:-]{0,49}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function actionToApi(a: ActionDraft): ApiAction | { error: string } {
  switch (a.type) {
    case "set": {
      if ((a.field === "status" || a.field === "priority") && !a.value) return { error: "Set a field: choose a value." };
      return { type: "set", field: a.field as "status", value: a.value || null };
    }
    case "add_tags":
    case "remove_tags": {
      const tags = a.tags.split(",").map((t) => t.trim().toLowerCase()).filter(Boolean);
      if (tags.length === 0) return { error: `${ACTION_LABELS[a.type]}: give at least one tag.` };
      const bad = tags.find((t) => !TAG.test(t));
      if (bad) return { error: `"${bad}" is not a tag: lower-case letters, digits and . _ : - (at most 50).` };
      return { type: a.type, tags };
    }
    case "set_metadata": {
      if (!/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(a.key)) return { error: "Set metadata: a key of lower-case letters, digits and . _ -." };
      let value: unknown = a.value;
      try {
        value = JSON.parse(a.value);
      } catch {
        value = a.value; // plain text is a JSON string
      }
      return { type: "set_metadata", key: a.key, value: value as string };
    }
    case "internal_note":
    case "reply":
      if (!a.body.trim()) return { error: `${ACTION_LABELS[a.type]}: write the text.` };
      return { type: a.type, body: a.body };
    case "assign_round_robin":
      if (!UUID.test(a.target)) return { error: "Assign in turn: choose a team." };
      return { type: "assign_round_robin", team_id: a.target };
    case "assign":
      if (!UUID.test(a.target)) return { error: "Assign within a team: choose a team." };
      return { type: "assign", team_id: a.target, strategy: a.value === "least_loaded" ? "least_loaded" : "round_robin" };
    case "webhook":
      if (!UUID.test(a.target)) return { error: "Call a webhook: give the endpoint id." };
      return { type: "webhook", endpoint_id: a.target };
  }
}

export function actionFromApi(raw: Record<string, unknown>): ActionDraft {
  const a = newAction(raw.type as ActionType);
  const str = (v: unknown) => (v === null || v === undefined ? "" : String(v));
  switch (a.type) {
    case "set":
      return { ...a, field: str(raw.field), value: str(raw.value) };
    case "add_tags":
    case "remove_tags":
      return { ...a, tags: Array.isArray(raw.tags) ? raw.tags.join(", ") : "" };
    case "set_metadata":
      return { ...a, key: str(raw.key), value: typeof raw.value === "string" ? raw.value : JSON.stringify(raw.value) };
    case "internal_note":
    case "reply":
      return { ...a, body: str(raw.body) };
    case "assign_round_robin":
      return { ...a, target: str(raw.team_id) };
    case "assign":
      return { ...a, target: str(raw.team_id), value: str(raw.strategy) || "round_robin" };
    case "webhook":
      return { ...a, target: str(raw.endpoint_id) };
  }
}

export function actionsToApi(drafts: ActionDraft[]): ApiAction[] | { error: string } {
  const out: ApiAction[] = [];
  for (const d of drafts) {
    const a = actionToApi(d);
    if ("error" in a) return a;
    out.push(a);
  }
  return out;
}

// ---- what an action changed (macro apply, dry run, execution log) ---------------------------

export interface Names {
  user: (id: string | null) => string;
  team: (id: string | null) => string;
}

const FIELD_NAMES: Record<string, string> = { status: "Status", priority: "Priority", assigned_to: "Assignee", team_id: "Team" };
const humanize = (v: unknown) => (v === null || v === undefined ? "none" : String(v).replace(/_/g, " "));

/** One line per effect, e.g. "Status: open → pending", "Tags: + vip, − old". */
export function describeEffect(effect: Record<string, unknown>, names: Names): string {
  switch (effect.type) {
    case "set": {
      const field = String(effect.field);
      const show = (v: unknown) =>
        field === "assigned_to" ? names.user((v as string | null) ?? null) : field === "team_id" ? names.team((v as string | null) ?? null) : humanize(v);
      return `${FIELD_NAMES[field] ?? field}: ${show(effect.from)} → ${show(effect.to)}`;
    }
    case "tags": {
      const from = new Set((effect.from as string[] | undefined) ?? []);
      const to = new Set((effect.to as string[] | undefined) ?? []);
      const added = [...to].filter((t) => !from.has(t)).map((t) => `+ ${t}`);
      const removed = [...from].filter((t) => !to.has(t)).map((t) => `− ${t}`);
      return `Tags: ${[...added, ...removed].join(", ")}`;
    }
    case "set_metadata":
      return `Metadata ${String(effect.key)}: ${JSON.stringify(effect.to)}`;
    case "internal_note":
      return effect.body ? `Internal note: ${String(effect.body)}` : "Internal note added";
    case "reply":
      return effect.body ? `Reply: ${String(effect.body)}` : "Reply sent";
    case "assign":
    case "assign_round_robin":
      return effect.to
        ? `Assigned to ${names.user(String(effect.to))} (${names.team(String(effect.team_id))})`
        : `Assigned in turn within ${names.team(String(effect.team_id))}`;
    case "webhook":
      return `Webhook ${String(effect.endpoint_id)}`;
    default:
      return JSON.stringify(effect);
  }
}
