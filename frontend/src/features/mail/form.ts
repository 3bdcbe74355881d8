import type { components } from "../../lib/api/schema";

export type Mailbox = components["schemas"]["MailboxRead"];
export type MailboxCreate = components["schemas"]["MailboxCreate"];
export type MailboxUpdate = components["schemas"]["MailboxUpdate"];
export type ConnectionCheck = components["schemas"]["ConnectionCheck"];
export type Priority = components["schemas"]["TicketPriority"];

export const PRIORITIES: Priority[] = ["low", "normal", "high", "urgent"];

function text(data: FormData, name: string): string {
  return String(data.get(name) ?? "").trim();
}

function checked(data: FormData, name: string): boolean {
  return data.get(name) === "on";
}

/** The fields both forms share (checkboxes are sent as they are: unchecked is `false`). */
function common(data: FormData) {
  const assignee = text(data, "default_assignee");
  return {
    display_name: text(data, "display_name"),
    default_priority: (text(data, "default_priority") || "normal") as Priority,
    default_assignee: assignee || null,
    allow_unknown_senders: checked(data, "allow_unknown_senders"),
    auto_acknowledge: checked(data, "auto_acknowledge"),
    auto_acknowledge_template: String(data.get("auto_acknowledge_template") ?? ""),
    is_active: checked(data, "is_active"),
    is_default: checked(data, "is_default"),
  };
}

/** The body of `POST /mailboxes`: credentials only when typed. */
export function createBody(data: FormData): MailboxCreate {
  const imap = text(data, "imap_url");
  const smtp = text(data, "smtp_url");
  return {
    address: text(data, "address"),
    ...common(data),
    ...(imap ? { imap_url: imap } : {}),
    ...(smtp ? { smtp_url: smtp } : {}),
  };
}

/**
 * The body of `PATCH /mailboxes/{id}`. Credentials are write-only: never shown, so an empty
 * field keeps the stored one; a typed one replaces it; "turn off" removes it (`null`).
 */
export function updateBody(data: FormData): MailboxUpdate {
  const body: MailboxUpdate = common(data);
  for (const name of ["imap_url", "smtp_url"] as const) {
    const value = text(data, name);
    if (checked(data, `${name}_remove`)) body[name] = null;
    else if (value) body[name] = value;
  }
  return body;
}

export interface ConnectionOutcome {
  ok: boolean;
  imap: ConnectionCheck | null;
  smtp: ConnectionCheck | null;
}

function isCheck(value: unknown): value is ConnectionCheck {
  return typeof value === "object" && value !== null && typeof (value as ConnectionCheck).ok === "boolean";
}

/**
 * What a connection test said, from the 200 body or the `mailbox-connection-failed` problem
 * (which carries the same per-part results); null when the answer is some other failure.
 */
export function connectionOutcome(body: Record<string, unknown>): ConnectionOutcome | null {
  const imap = isCheck(body.imap) ? body.imap : null;
  const smtp = isCheck(body.smtp) ? body.smtp : null;
  if (!smtp) return null;
  return { ok: smtp.ok && (imap?.ok ?? true), imap, smtp };
}

/** How a write-only credential is described: never its value, only whether one is stored. */
export function credentialState(mailbox: Mailbox, which: "imap" | "smtp"): string {
  if (which === "imap") return mailbox.inbound === "imap" ? "IMAP URL is set (never shown)." : "No IMAP: mail comes by the inbound endpoint or the CLI.";
  return mailbox.smtp_override ? "SMTP URL is set (never shown)." : "Sends through the server's default SMTP.";
}

export type InboundStatus = "received" | "processed" | "quarantined" | "discarded";
export const INBOUND_STATUSES: InboundStatus[] = ["quarantined", "received", "processed", "discarded"];

/** The quarantine page's status filter from the URL: quarantined unless another (or "any"). */
export function statusFilter(params: URLSearchParams): InboundStatus | null {
  const asked = params.get("status");
  if (asked === "any") return null;
  return INBOUND_STATUSES.find((s) => s === asked) ?? "quarantined";
}
