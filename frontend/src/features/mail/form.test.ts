import { describe, expect, it } from "vitest";
import { connectionOutcome, createBody, credentialState, type Mailbox, statusFilter, updateBody } from "./form";

function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [k, v] of Object.entries(fields)) data.set(k, v);
  return data;
}

const base = { display_name: " ACME ", default_priority: "high", auto_acknowledge_template: "Hi {number}", is_active: "on" };

describe("mailbox form bodies", () => {
  it("creates with credentials only when typed; unchecked boxes are false", () => {
    expect(createBody(form({ ...base, address: " help@x.example ", imap_url: "", smtp_url: "log://" }))).toEqual({
      address: "help@x.example",
      display_name: "ACME",
      default_priority: "high",
      default_assignee: null,
      allow_unknown_senders: false,
      auto_acknowledge: false,
      auto_acknowledge_template: "Hi {number}",
      is_active: true,
      is_default: false,
      smtp_url: "log://",
    });
  });

  it("keeps, replaces or removes write-only credentials on update", () => {
    const keep = updateBody(form({ ...base, imap_url: "", smtp_url: "" }));
    expect("imap_url" in keep).toBe(false);
    expect("smtp_url" in keep).toBe(false);
    const replace = updateBody(form({ ...base, imap_url: "imaps://u:p@h/INBOX", is_default: "on" }));
    expect(replace.imap_url).toBe("imaps://u:p@h/INBOX");
    expect(replace.is_default).toBe(true);
    const remove = updateBody(form({ ...base, imap_url: "ignored", imap_url_remove: "on", smtp_url_remove: "on" }));
    expect(remove.imap_url).toBeNull();
    expect(remove.smtp_url).toBeNull();
  });
});

describe("connection test outcome", () => {
  it("reads the success body and the failure problem alike", () => {
    const smtp = { ok: true, detail: "EHLO accepted" };
    expect(connectionOutcome({ imap: null, smtp })).toEqual({ ok: true, imap: null, smtp });
    const imap = { ok: false, detail: "ImapAuthError: login refused" };
    expect(
      connectionOutcome({ type: "/problems/mailbox-connection-failed", status: 422, imap, smtp }),
    ).toEqual({ ok: false, imap, smtp });
  });

  it("is null for other failures", () => {
    expect(connectionOutcome({ type: "/problems/mailbox-not-found", status: 404 })).toBeNull();
  });
});

describe("credential state", () => {
  it("never shows a credential, only whether one is set", () => {
    const box = { inbound: "imap", smtp_override: false } as Mailbox;
    expect(credentialState(box, "imap")).toBe("IMAP URL is set (never shown).");
    expect(credentialState(box, "smtp")).toBe("Sends through the server's default SMTP.");
  });
});

describe("quarantine status filter", () => {
  it("defaults to quarantined, accepts known statuses and any", () => {
    expect(statusFilter(new URLSearchParams(""))).toBe("quarantined");
    expect(statusFilter(new URLSearchParams("status=processed"))).toBe("processed");
    expect(statusFilter(new URLSearchParams("status=bogus"))).toBe("quarantined");
    expect(statusFilter(new URLSearchParams("status=any"))).toBeNull();
  });
});
