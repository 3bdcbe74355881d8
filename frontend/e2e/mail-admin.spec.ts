import { type ChildProcess, spawn } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { type APIRequestContext, type Page, expect, request, test } from "@playwright/test";
import { BASE, apiAs, expectAccessible, signIn } from "./helpers";

// Inbound mail is processed by the worker: this spec runs one next to the e2e server, with the
// server's environment (scripts/test exports it), and stops it at the end.
let worker: ChildProcess | null = null;

test.beforeAll(() => {
  expect(process.env.HELPLINE_DATABASE_URL, "run through scripts/test (it exports the server's environment)").toBeTruthy();
  worker = spawn("helpline", ["worker"], { env: process.env, stdio: "ignore" });
});

test.afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const done = new Promise((resolve) => worker?.once("exit", resolve));
    worker.kill("SIGTERM");
    await done;
  }
});

const unique = () => Date.now().toString(36) + Math.random().toString(36).slice(2, 6);

/** Post a raw message to the inbound endpoint, signed per Standard Webhooks. */
async function postMail(api: APIRequestContext, mailbox: { id: string; secret: string }, from: string, to: string, subject: string) {
  const raw = Buffer.from(
    [
      `From: ${from}`,
      `To: ${to}`,
      `Subject: ${subject}`,
      `Message-ID: <${randomUUID()}@e2e.example>`,
      `Date: ${new Date().toUTCString()}`,
      "Content-Type: text/plain; charset=utf-8",
      "",
      "It smokes.",
      "",
    ].join("\r\n"),
  );
  const id = `msg_${randomUUID().replaceAll("-", "")}`;
  const stamp = String(Math.floor(Date.now() / 1000));
  const key = Buffer.from(mailbox.secret.replace(/^whsec_/, ""), "base64");
  const signature = createHmac("sha256", key).update(`${id}.${stamp}.`).update(raw).digest("base64");
  const res = await api.post(`/api/v1/inbound/email/${mailbox.id}`, {
    data: raw,
    headers: { "content-type": "message/rfc822", "webhook-id": id, "webhook-timestamp": stamp, "webhook-signature": `v1,${signature}` },
  });
  expect(res.status(), await res.text()).toBe(202);
}

async function openMailboxes(page: Page) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Mailboxes" }).click();
  await expect(page.getByRole("heading", { name: "Mailboxes", level: 1 })).toBeVisible();
}

test.describe("mail admin", () => {
  test("creates and edits a mailbox whose credentials are write-only, and tests its connection", async ({ page }) => {
    await signIn(page, "admin");
    await openMailboxes(page);
    await expectAccessible(page);
    const address = `help-${unique()}@example.com`;
    const create = page.getByRole("form", { name: "Create a mailbox" });
    await create.getByLabel("Address").fill(address);
    await create.getByLabel("Display name").fill("E2E Support");
    await create.getByLabel("SMTP URL (optional)").fill("log://");
    await create.getByRole("button", { name: "Create mailbox" }).click();
    const secret = page.getByLabel("Inbound signing secret");
    await expect(secret).toHaveValue(/^whsec_/);
    const value = await secret.inputValue();
    await expect(page.getByRole("alert")).toContainText("it is shown only once");
    await expectAccessible(page);
    await page.getByRole("button", { name: "Done" }).click();
    await expect(page.getByLabel("Inbound signing secret")).toHaveCount(0);
    expect(await page.content()).not.toContain(value);

    const row = page.getByRole("row").filter({ hasText: address });
    await expect(row).toContainText("Inbound endpoint / CLI");
    await page.getByRole("button", { name: `Test connection of ${address}` }).click();
    await expect(page.getByRole("heading", { name: `Connection test of ${address}: all good` })).toBeVisible();
    await expect(page.getByText("SMTP: OK — log:// writes mail to the log (development)")).toBeVisible();
    await expect(page.getByText("IMAP: not configured")).toBeVisible();

    // Editing: the form says whether a credential is set, never what it is; typing replaces it.
    await page.getByRole("button", { name: `Edit ${address}` }).click();
    const edit = page.getByRole("form", { name: `Edit ${address}` });
    await expect(edit).toContainText("SMTP URL is set (never shown). Leave empty to keep it.");
    await expect(edit.getByLabel("Replace SMTP URL")).toHaveValue("");
    await edit.getByLabel("Replace SMTP URL").fill("smtp://user:Pw-E2E-Smtp@127.0.0.1:9");
    await edit.getByLabel("Set IMAP URL").fill("imap://user:Pw-E2E-Imap@127.0.0.1:9/INBOX");
    await edit.getByLabel("Default: mails the replies of tickets opened on the web or by the API").check();
    await expectAccessible(page);
    await edit.getByRole("button", { name: "Save changes" }).click();
    await expect(page.getByRole("status").filter({ hasText: `Saved ${address}.` })).toBeVisible();
    await expect(row).toContainText("IMAP");
    await expect(row.getByRole("cell").nth(3)).toHaveText("Yes"); // Default
    expect(await page.content()).not.toContain("Pw-E2E");

    // A failing test says which part failed and why, never with the password.
    await page.getByRole("button", { name: `Test connection of ${address}` }).click();
    await expect(page.getByRole("heading", { name: `Connection test of ${address}: failed` })).toBeVisible();
    await expect(page.getByText(/^IMAP: Failed — /)).toBeVisible();
    await expect(page.getByText(/^SMTP: Failed — /)).toBeVisible();
    expect(await page.content()).not.toContain("Pw-E2E");
    await expectAccessible(page);
    const listed = await page.request.get("/api/v1/mailboxes");
    const text = await listed.text();
    expect(text).not.toContain("Pw-E2E");
    const mine = ((await listed.json()) as { address: string; is_default: boolean; inbound: string }[]).find((m) => m.address === address);
    expect(mine).toMatchObject({ is_default: true, inbound: "imap" });

    // Turning the credentials off and the default back off (other specs expect no mail).
    await page.getByRole("button", { name: `Edit ${address}` }).click();
    const again = page.getByRole("form", { name: `Edit ${address}` });
    await again.getByLabel("Turn IMAP off").check();
    await again.getByLabel("Use the server's default SMTP").check();
    await again.getByLabel("Default: mails the replies of tickets opened on the web or by the API").uncheck();
    await again.getByRole("button", { name: "Save changes" }).click();
    await expect(row).toContainText("Inbound endpoint / CLI");
    const after = ((await (await page.request.get("/api/v1/mailboxes")).json()) as { address: string; is_default: boolean; smtp_override: boolean }[]).find(
      (m) => m.address === address,
    );
    expect(after).toMatchObject({ is_default: false, smtp_override: false });
  });

  test("shows the quarantine, discards one mail and replays another after the cause is fixed", async ({ page }) => {
    const admin = await apiAs("admin");
    const address = `strict-${unique()}@example.com`;
    const created = await admin.api.post("/api/v1/mailboxes", {
      data: { address, allow_unknown_senders: false },
      headers: { "X-CSRF-Token": admin.csrf },
    });
    expect(created.status(), await created.text()).toBe(201);
    const mailbox = (await created.json()) as { id: string; inbound_secret: string };
    const box = { id: mailbox.id, secret: mailbox.inbound_secret };
    const tag = unique();
    const stranger = `stranger-${tag}@example.net`;
    const spammer = `spammer-${tag}@example.net`;
    const inbound = await request.newContext({ baseURL: BASE });
    await postMail(inbound, box, stranger, address, `Printer on fire ${tag}`);
    await postMail(inbound, box, spammer, address, `Cheap pills ${tag}`);
    await inbound.dispose();
    const statuses = async () => {
      const res = await admin.api.get("/api/v1/inbound-emails", { params: { mailbox_id: mailbox.id } });
      const rows = ((await res.json()) as { data: { sender: string | null; status: string }[] }).data;
      return Object.fromEntries(rows.map((r) => [r.sender, r.status]));
    };
    await expect.poll(statuses, { timeout: 20_000 }).toEqual({ [stranger]: "quarantined", [spammer]: "quarantined" });

    await signIn(page, "admin");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Quarantine" }).click();
    await expect(page.getByRole("heading", { name: "Mail quarantine" })).toBeVisible();
    const table = page.getByRole("table", { name: "Inbound mail" });
    const strangerRow = table.getByRole("row").filter({ hasText: stranger });
    const spammerRow = table.getByRole("row").filter({ hasText: spammer });
    await expect(strangerRow).toContainText(`unknown_sender: ${stranger}`);
    await expect(strangerRow).toContainText(address);
    await expect(spammerRow).toContainText("Quarantined");
    await expectAccessible(page);

    await spammerRow.getByRole("button", { name: /^Discard mail from spammer-/ }).click();
    const dialog = page.getByRole("dialog", { name: /^Discard the mail from spammer-/ });
    await expect(dialog).toContainText("It stays stored");
    await expectAccessible(page);
    await dialog.getByRole("button", { name: "Discard mail" }).click();
    await expect(page.getByRole("status").filter({ hasText: `Discarded the mail from ${spammer}` })).toBeVisible();
    await expect(spammerRow).toHaveCount(0);

    // Replaying before the cause is fixed quarantines it again; after allowing unknown senders
    // it becomes a ticket.
    await openMailboxes(page);
    await page.getByRole("button", { name: `Edit ${address}` }).click();
    const edit = page.getByRole("form", { name: `Edit ${address}` });
    await edit.getByLabel("Unknown senders open tickets").check();
    await edit.getByRole("button", { name: "Save changes" }).click();
    await expect(page.getByRole("status").filter({ hasText: `Saved ${address}.` })).toBeVisible();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Quarantine" }).click();
    await strangerRow.getByRole("button", { name: /^Replay mail from stranger-/ }).click();
    await expect(page.getByRole("status").filter({ hasText: "the worker processes it again" })).toBeVisible();
    await expect.poll(statuses, { timeout: 20_000 }).toEqual({ [stranger]: "processed", [spammer]: "discarded" });

    await page.getByLabel("Status").selectOption("processed");
    await expect(page).toHaveURL(/status=processed/);
    const processed = page.getByRole("table", { name: "Inbound mail" }).getByRole("row").filter({ hasText: stranger });
    await processed.getByRole("link", { name: "Open ticket" }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(`Printer on fire ${tag}`);
    await admin.api.dispose();
  });
});
