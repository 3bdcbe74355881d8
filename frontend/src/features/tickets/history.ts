import { humanize } from "../../lib/format";

export interface HistoryLike {
  change_type: string;
  old_value?: unknown;
  new_value?: unknown;
}

function plain(value: unknown, field?: string): string {
  if (value === null || value === undefined) return "none";
  if (typeof value === "object" && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    if (field && field in record) return plain(record[field]);
    if ("value" in record) return JSON.stringify(record.value);
  }
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** One line saying what a history entry changed ("Status: new → open"). */
export function describeChange(entry: HistoryLike, name: (id: string | null) => string = (id) => id ?? "nobody"): string {
  const { change_type: type, old_value: before, new_value: after } = entry;
  switch (type) {
    case "created":
      return "Created the ticket";
    case "status_changed":
      return `Status: ${humanize(plain(before, "status"))} → ${humanize(plain(after, "status"))}`;
    case "priority_changed":
      return `Priority: ${humanize(plain(before, "priority"))} → ${humanize(plain(after, "priority"))}`;
    case "assignee_changed": {
      const from = plain(before, "assigned_to");
      const to = plain(after, "assigned_to");
      return `Assignee: ${from === "none" ? "Unassigned" : name(from)} → ${to === "none" ? "Unassigned" : name(to)}`;
    }
    case "title_changed":
      return `Title: “${plain(before, "title")}” → “${plain(after, "title")}”`;
    case "description_changed":
      return "Changed the description";
    case "metadata_set": {
      const key = (after as { key?: string } | null)?.key ?? "";
      return `Metadata ${key}: set to ${plain(after)}`.replace(/\s+/g, " ");
    }
    case "metadata_removed": {
      const key = (before as { key?: string } | null)?.key ?? "";
      return `Metadata ${key}: removed`.replace(/\s+/g, " ");
    }
    case "message_added":
      return (after as { is_internal?: boolean } | null)?.is_internal ? "Added an internal note" : "Added a message";
    case "deleted":
      return "Deleted the ticket";
    case "restored":
      return "Restored the ticket";
    default:
      return humanize(type);
  }
}
