import { type Locator, type Page, expect, test } from "@playwright/test";
import { PASSWORD, apiAs, createTicket, expectAccessible, newSignedInPage, signIn, users } from "./helpers";

/** Press Tab (or Shift+Tab) until `target` has the focus; fails after `max` presses. */
async function tabTo(page: Page, target: Locator, { back = false, max = 80 } = {}) {
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === document.activeElement).catch(() => false)) return;
    await page.keyboard.press(back ? "Shift+Tab" : "Tab");
  }
  await expect(target).toBeFocused();
}

/** True when the page scrolls sideways (its content is wider than the window). */
async function scrollsSideways(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

test.describe("the console by keyboard", () => {
  test("keyboard only: sign in, skip link, open a ticket, reply, go back, new ticket, sign out", async ({ page }) => {
    const title = `Keyboard journey ${Date.now().toString(36)}`;
    await createTicket(title);
    await page.goto("/login");
    await expect(page).toHaveTitle("Sign in · Helpline");
    await tabTo(page, page.getByLabel("Email"));
    await page.keyboard.type(users.agent1);
    await page.keyboard.press("Tab");
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press("Enter");
    await expect(page.getByRole("heading", { level: 1, name: "Inbox" })).toBeFocused();
    await expect(page).toHaveTitle("Inbox · Helpline");

    // The skip link works with Enter: focus lands in the main content.
    await page.reload();
    await expect(page.getByRole("table", { name: "Tickets" })).toBeVisible();
    await page.keyboard.press("Tab");
    const skip = page.getByRole("link", { name: "Skip to content" });
    await expect(skip).toBeFocused();
    await page.keyboard.press("Enter");
    await expect(page.getByRole("main")).toBeFocused();

    // A ticket link opens with Enter; the new page's heading has the focus and names the tab.
    const link = page.getByRole("table", { name: "Tickets" }).getByRole("link", { name: title });
    await tabTo(page, link);
    await page.keyboard.press("Enter");
    await expect(page.getByRole("heading", { level: 1, name: title })).toBeFocused();
    await expect(page).toHaveTitle(`${title} · Helpline`);

    // A reply typed and sent: focus stays in the composer, not on <body>.
    await tabTo(page, page.getByRole("textbox", { name: "Message" }));
    await page.keyboard.type("Answered without a mouse.");
    await tabTo(page, page.getByRole("button", { name: "Send reply" }));
    await page.keyboard.press("Enter");
    await expect(page.getByRole("status").filter({ hasText: "Reply sent." })).toBeVisible();
    await expect(page.getByRole("textbox", { name: "Message" })).toBeFocused();

    // Leaving with an unsent reply asks; Escape keeps writing.
    await page.keyboard.type("Half a thought");
    const back = page.getByRole("link", { name: "← Back to tickets" });
    await tabTo(page, back, { back: true });
    await page.keyboard.press("Enter");
    const discard = page.getByRole("dialog", { name: "Discard your reply?" });
    await expect(discard).toBeVisible();
    await expect(discard.getByRole("button", { name: "Keep writing" })).toBeFocused();
    await page.keyboard.press("Escape");
    await expect(discard).toHaveCount(0);
    await expect(page.getByRole("textbox", { name: "Message" })).toHaveValue("Half a thought");
    await tabTo(page, back, { back: true });
    await page.keyboard.press("Enter");
    await tabTo(page, page.getByRole("dialog").getByRole("button", { name: "Discard and leave" }));
    await page.keyboard.press("Enter");
    await expect(page.getByRole("heading", { level: 1, name: "Inbox" })).toBeFocused();

    // Nav links and buttons answer Enter too.
    await tabTo(page, page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "New ticket" }));
    await page.keyboard.press("Enter");
    await expect(page.getByRole("heading", { level: 1, name: "New ticket" })).toBeFocused();
    await expect(page).toHaveTitle("New ticket · Helpline");
    await tabTo(page, page.getByRole("button", { name: "Sign out" }), { back: true });
    await page.keyboard.press("Enter");
    await expect(page).toHaveURL(/\/login/);
  });

  test("the customer's My tickets answers Enter on links and Load more", async ({ page }) => {
    const customer = await apiAs("customer");
    for (let i = 0; i < 51; i++) {
      const r = await customer.api.post("/api/v1/tickets", {
        data: { title: `Portal page filler ${i}` },
        headers: { "X-CSRF-Token": customer.csrf },
      });
      expect(r.status()).toBe(201);
    }
    await customer.api.dispose();
    await signIn(page, "customer");
    const rows = page.getByRole("table", { name: "Tickets" }).getByRole("row");
    await expect(rows).toHaveCount(51); // header + a page of 50
    const more = page.getByRole("button", { name: "Load more" });
    await tabTo(page, more, { max: 200 });
    await page.keyboard.press("Enter");
    await expect(rows).not.toHaveCount(51);
  });
});

test.describe("an unsent reply", () => {
  test("asks before the browser's Back and before a reload", async ({ page }) => {
    const title = `Draft ${Date.now().toString(36)}`;
    const id = await createTicket(title);
    await signIn(page, "agent1");
    await page.getByRole("link", { name: title }).click(); // in the app: Back stays in it
    const message = page.getByRole("textbox", { name: "Message" });
    await message.click();
    await page.keyboard.type("Dear customer, about your printer");

    await page.goBack();
    const ask = page.getByRole("dialog", { name: "Discard your reply?" });
    await expect(ask).toBeVisible();
    await ask.getByRole("button", { name: "Keep writing" }).click();
    await expect(page).toHaveURL(new RegExp(`/tickets/${id}$`));
    await expect(message).toHaveValue("Dear customer, about your printer");

    const asked = new Promise<string>((resolve) => {
      page.once("dialog", (dialog) => {
        resolve(dialog.type());
        void dialog.dismiss(); // stay on the page
      });
    });
    await page.reload({ timeout: 3_000 }).catch(() => undefined);
    expect(await asked).toBe("beforeunload");
    await expect(message).toHaveValue("Dear customer, about your printer");
  });
});

test.describe("status changes", () => {
  test("a customer may only solve and reopen; nothing saves without Save", async ({ browser }) => {
    const title = `Customer transitions ${Date.now().toString(36)}`;
    const id = await createTicket(title);
    const page = await newSignedInPage(browser, "customer");
    await page.goto(`/tickets/${id}`);
    const status = page.getByRole("combobox", { name: /^Status/ });
    await expect(status.getByRole("option")).toHaveText(["New", "Solved"]);
    await status.focus();
    await page.keyboard.press("ArrowDown"); // one key on a focused select
    await expect(page.getByText("Version 1")).toBeVisible();
    await expect(page.getByRole("status").filter({ hasText: "Unsaved changes" })).toBeVisible();
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect(page.getByText("Version 2")).toBeVisible();
    await expect(status).toHaveValue("solved");
    await expect(status.getByRole("option")).toHaveText(["Open", "Solved"]);
    await status.selectOption("open");
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect(page.getByText("Version 3")).toBeVisible();
    await expectAccessible(page);

    // The API refuses the rest, whatever a client sends.
    const api = await apiAs("customer");
    const r = await api.api.patch(`/api/v1/tickets/${id}`, {
      data: { status: "closed" },
      headers: { "X-CSRF-Token": api.csrf },
    });
    expect(r.status()).toBe(403);
    expect(((await r.json()) as { type: string }).type).toBe("/problems/status-transition-forbidden");
    await api.api.dispose();
    await page.context().close();
  });

  test("closing asks first; Escape keeps the ticket open", async ({ page }) => {
    const title = `Close me ${Date.now().toString(36)}`;
    const id = await createTicket(title);
    await signIn(page, "agent1");
    await page.goto(`/tickets/${id}`);
    await page.getByLabel("Status").selectOption("closed");
    await page.getByRole("button", { name: "Save changes" }).click();
    const dialog = page.getByRole("dialog", { name: "Close this ticket?" });
    await expect(dialog).toContainText("cannot be undone");
    await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
    await expectAccessible(page);
    await page.keyboard.press("Escape");
    await expect(dialog).toHaveCount(0);
    await expect(page.getByText("Version 1")).toBeVisible();
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByRole("dialog", { name: "Close this ticket?" }).getByRole("button", { name: "Close ticket" }).click();
    await expect(page.getByText("This ticket is closed and can no longer change.")).toBeVisible();
    await expect(page.getByRole("heading", { level: 1, name: title })).toBeFocused();
  });
});

test.describe("forms and narrow screens", () => {
  test("a 500-character title is refused with a message, not cut", async ({ page }) => {
    await signIn(page, "customer");
    await page.goto("/tickets/new");
    const long = "x".repeat(500);
    await page.getByLabel("Title").fill(long);
    await expect(page.getByLabel("Title")).toHaveValue(long);
    await expect(page.getByRole("alert")).toContainText("The title is 500 characters; the limit is 200. Shorten it by 300.");
    await page.getByRole("button", { name: "Create ticket" }).click();
    await expect(page).toHaveURL(/\/tickets\/new$/);
    await expect(page.getByLabel("Title")).toBeFocused();
    await page.getByLabel("Title").fill("x".repeat(200));
    await expect(page.getByRole("alert")).toHaveCount(0);
  });

  test("a bidi control in a title is refused by the API and said in the form", async ({ page }) => {
    await signIn(page, "customer");
    await page.goto("/tickets/new");
    await page.getByLabel("Title").fill("invoice\u202egpj.exe");
    await page.getByRole("button", { name: "Create ticket" }).click();
    await expect(page.getByRole("alert").first()).toContainText("U+202E");
    await expect(page).toHaveURL(/\/tickets\/new$/);
  });

  test("at 390 px nothing scrolls sideways, even with a 200-character title", async ({ browser }) => {
    test.setTimeout(150_000); // ten pages, each checked by axe
    const long = `Unbroken${"x".repeat(192)}`;
    const id = await createTicket(long);
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    await signIn(page, "admin");
    for (const path of ["/tickets", `/tickets/${id}`, "/tickets/new", "/keys", "/admin/users", "/admin/audit", "/admin/mailboxes", "/admin/quarantine", "/admin/calendars", "/admin/sla-policies"]) {
      await page.goto(path);
      await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
      await page.waitForLoadState("networkidle");
      expect(await scrollsSideways(page), path).toBeLessThanOrEqual(0);
      await expectAccessible(page);
    }
    // An admin cannot change their own role from the page.
    await page.goto(`/admin/users?email=${encodeURIComponent(users.admin)}`);
    await expect(page.getByLabel(`Role of ${users.admin}`)).toBeDisabled();
    await context.close();
  });

  test("the audit log names actors and shows changes as readable lines", async ({ page }) => {
    await signIn(page, "admin");
    const admin = await apiAs("admin");
    const email = `audited-${Date.now().toString(36)}@example.com`;
    const created = await admin.api.post("/api/v1/users", {
      data: { email, name: "Audited Person", role: "agent" },
      headers: { "X-CSRF-Token": admin.csrf },
    });
    expect(created.status()).toBe(201);
    const user = (await created.json()) as { id: string };
    await admin.api.patch(`/api/v1/users/${user.id}`, { data: { role: "customer" }, headers: { "X-CSRF-Token": admin.csrf } });
    await admin.api.dispose();
    await page.goto(`/admin/audit?action=user.updated&entity_id=${user.id}`);
    const row = page.getByRole("table", { name: "Audit events" }).getByRole("row").nth(1);
    await expect(row).toContainText("E2E admin");
    await expect(row).toContainText(users.admin);
    await expect(row.getByRole("listitem").filter({ hasText: "role" })).toHaveText("role: agent → customer");
    await expect(page).toHaveTitle("Audit events · Helpline");
  });
});

test.describe("inbox ergonomics", () => {
  test("solved and closed are hidden by default; ? lists the shortcuts", async ({ page }) => {
    const stamp = Date.now().toString(36);
    const open = await createTicket(`Still open ${stamp}`);
    const done = await createTicket(`Already solved ${stamp}`);
    const agent = await apiAs("agent1");
    const r = await agent.api.patch(`/api/v1/tickets/${done}`, {
      data: { status: "solved" },
      headers: { "X-CSRF-Token": agent.csrf },
    });
    expect(r.status()).toBe(200);
    await agent.api.dispose();
    expect(open).not.toBe(done);

    await signIn(page, "agent1");
    const statuses = page.getByRole("group", { name: "Status" });
    for (const name of ["New", "Open", "Pending", "On hold"]) {
      await expect(statuses.getByRole("checkbox", { name: new RegExp(`^${name}`) })).toBeChecked();
    }
    await expect(statuses.getByRole("checkbox", { name: /^Solved/ })).not.toBeChecked();
    await expect(page.getByRole("link", { name: `Still open ${stamp}` })).toBeVisible();
    await expect(page.getByRole("link", { name: `Already solved ${stamp}` })).toHaveCount(0);
    // click + an auto-waiting assertion, not check(): check() fails when the box has not changed
    // the instant after the click, and the inbox may be re-rendering (live updates, SLA clock).
    await statuses.getByRole("checkbox", { name: /^Solved/ }).click();
    await expect(statuses.getByRole("checkbox", { name: /^Solved/ })).toBeChecked();
    await expect(page).toHaveURL(/status=new%2Copen%2Cpending%2Con_hold%2Csolved/);
    const row = page.getByRole("row").filter({ hasText: `Already solved ${stamp}` });
    await expect(row).toContainText("Solved"); // the badge says it in words, not colour alone

    await page.getByRole("heading", { level: 1, name: "Inbox" }).click();
    await page.keyboard.press("?");
    const help = page.getByRole("dialog", { name: "Keyboard shortcuts" });
    await expect(help).toContainText("Next / previous ticket");
    await expectAccessible(page);
    await page.keyboard.press("Escape");
    await expect(help).toHaveCount(0);
  });
});
