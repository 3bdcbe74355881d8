import { expect, test } from "@playwright/test";
import { createTicket, docsScreenshot, expectAccessible, signIn } from "./helpers";

test.describe("admin", () => {
  test("creates an API key whose secret is shown once, then rotates and revokes it", async ({ page }) => {
    await signIn(page, "admin");
    await page.getByRole("link", { name: "API keys" }).click();
    await expect(page.getByRole("heading", { name: "API keys" })).toBeVisible();
    await expectAccessible(page);
    const name = `billing-${Date.now().toString(36)}`;
    await page.getByLabel("Name").fill(name);
    await page.getByLabel("Requests per minute (empty: server default)").fill("120");
    await page.getByRole("button", { name: "Create key" }).click();
    const secret = page.getByLabel("New API key");
    await expect(secret).toHaveValue(/^hl_[0-9A-Za-z]{38,}$/);
    const key = await secret.inputValue();
    await expect(page.getByRole("alert")).toContainText("it is shown only once");
    await expectAccessible(page);
    await docsScreenshot(page, "api-key-created");

    // The key works against the API, and it is never shown again.
    const me = await page.request.get("/api/v1/auth/me", { headers: { Authorization: `Bearer ${key}` } });
    expect(me.status()).toBe(200);
    expect(((await me.json()) as { authenticated_by: string }).authenticated_by).toBe("api_key");
    await page.getByRole("button", { name: "Done" }).click();
    await expect(page.getByLabel("New API key")).toHaveCount(0);
    await page.reload();
    await expect(page.getByRole("cell", { name, exact: true })).toBeVisible();
    await expect(page.getByText(key)).toHaveCount(0);
    expect(await page.content()).not.toContain(key);

    // Rotation shows the new secret once; revocation stops the key at once.
    // The grace period is asked in a dialog (not window.prompt); the old key is named as such.
    const prefix = key.slice(0, 11);
    await page.getByRole("button", { name: new RegExp(`^Rotate ${name} \\(`) }).click();
    const dialog = page.getByRole("dialog", { name: `Rotate ${name} (${prefix}…)?` });
    await expect(dialog).toBeVisible();
    await expectAccessible(page);
    await dialog.getByLabel("Grace period for the old key, in hours (0 = stop now)").fill("2");
    await dialog.getByRole("button", { name: "Rotate key" }).click();
    const rotated = await page.getByLabel("New API key").inputValue();
    expect(rotated).not.toBe(key);
    await page.getByRole("button", { name: "Done" }).click();
    const oldRow = page.getByRole("row").filter({ hasText: `${prefix}…` });
    await expect(oldRow).toContainText("Replaced by a rotation");
    await expect(oldRow).toContainText("Old key, stops in 2 hours");
    await expect(page.getByRole("button", { name: `Rotate ${name} (${prefix}…)` })).toHaveCount(0);
    const newPrefix = rotated.slice(0, 11);
    await expect(page.getByRole("button", { name: `Revoke old key ${name} (${prefix}…)` })).toBeVisible();
    await page.getByRole("button", { name: `Revoke ${name} (${newPrefix}…)` }).click();
    await page.getByRole("dialog", { name: `Revoke ${name} (${newPrefix}…)?` }).getByRole("button", { name: "Revoke key" }).click();
    await expect(page.getByRole("button", { name: `Revoke ${name} (${newPrefix}…)` })).toHaveCount(0);
    const after = await page.request.get("/api/v1/auth/me", { headers: { Authorization: `Bearer ${rotated}` } });
    expect(after.status()).toBe(401);
  });

  test("manages users and reads the audit log", async ({ page }) => {
    await signIn(page, "admin");
    await page.getByRole("link", { name: "Users" }).click();
    const email = `new-${Date.now().toString(36)}@example.com`;
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Name").fill("New Person");
    await page.getByLabel("Role", { exact: true }).selectOption("agent");
    await page.getByRole("button", { name: "Create user" }).click();
    await expect(page.getByRole("status")).toContainText(`Created agent ${email}`);
    await page.getByLabel("Exact email").fill(email);
    await page.getByRole("button", { name: "Find" }).click();
    await expect(page.getByRole("table", { name: "Users" }).getByRole("row")).toHaveCount(2);
    await page.getByLabel(`Role of ${email}`, { exact: true }).selectOption("customer");
    const confirmRole = page.getByRole("dialog", { name: `Change the role of ${email}?` });
    await expect(confirmRole).toContainText("From Agent to Customer");
    await expect(page.getByLabel(`Role of ${email}`, { exact: true })).toHaveValue("agent"); // nothing saved yet
    await confirmRole.getByRole("button", { name: "Make customer" }).click();
    await expect(page.getByLabel(`Role of ${email}`, { exact: true })).toHaveValue("customer");
    await page.getByRole("button", { name: `Deactivate ${email}` }).click();
    await page.getByRole("dialog", { name: `Deactivate ${email}?` }).getByRole("button", { name: "Deactivate" }).click();
    await expect(page.getByRole("button", { name: `Reactivate ${email}` })).toBeVisible();
    await expectAccessible(page);

    await page.getByLabel("Exact email").fill("");
    await page.getByRole("button", { name: "Find" }).click();
    await docsScreenshot(page, "users");

    await page.getByRole("link", { name: "Audit" }).click();
    await page.getByLabel("Actions (comma list)").fill("user.created,user.updated");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await expect(page).toHaveURL(/action=user\.created%2Cuser\.updated/);
    const table = page.getByRole("table", { name: "Audit events" });
    await expect(table).toContainText("user.created");
    await expect(table).toContainText("user.updated");
    await expect(table).not.toContainText("ticket.created");
    await expectAccessible(page);
    await docsScreenshot(page, "audit");
  });

  test("the inbox, keyboard, filters in the URL and the portal are accessible", async ({ page, browser }) => {
    await createTicket("Keyboard ticket one");
    await createTicket("Keyboard ticket two");
    await signIn(page, "agent1");
    await page.goto("/tickets?status=new&sort=-created_at");
    await expect(page.getByLabel("New", { exact: false }).first()).toBeChecked();
    await expect(page.getByLabel("Sort")).toHaveValue("-created_at");
    const rows = page.getByRole("table", { name: "Tickets" }).getByRole("row");
    await expect(rows.nth(1)).toBeVisible();
    await page.keyboard.press("j");
    await expect(rows.nth(1).getByRole("link")).toBeFocused();
    await page.keyboard.press("j");
    await expect(rows.nth(2).getByRole("link")).toBeFocused();
    await page.keyboard.press("k");
    // An unread row's link starts with its marker (a dot and a visually hidden "Unread: ").
    const first = (await rows.nth(1).getByRole("link").textContent())?.replace(/^●?Unread: /, "");
    await page.keyboard.press("Enter");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(first ?? "");
    await page.goBack();
    await expect(page).toHaveURL(/status=new&sort=-created_at/);
    await expectAccessible(page);
    await docsScreenshot(page, "inbox");
    await page.getByRole("link", { name: "New ticket" }).first().click();
    await expectAccessible(page);

    const customer = await browser.newContext({ colorScheme: "dark" });
    const portal = await customer.newPage();
    await signIn(portal, "customer");
    await expect(portal.getByRole("heading", { name: "My tickets" })).toBeVisible();
    await expect(portal.getByLabel("Assignee")).toHaveCount(0);
    await expectAccessible(portal);
    await docsScreenshot(portal, "portal-dark");
    await portal.getByRole("link", { name: "New ticket" }).first().click();
    await portal.getByLabel("Title").fill("My own ticket from the portal");
    await portal.getByRole("button", { name: "Create ticket" }).click();
    await expect(portal.getByRole("heading", { name: "My own ticket from the portal" })).toBeVisible();
    await customer.close();

    // Another customer never sees it.
    const other = await browser.newContext();
    const theirs = await other.newPage();
    await signIn(theirs, "other");
    await expect(theirs.getByText("No tickets match")).toBeVisible();
    await theirs.goto("/admin/users");
    await expect(theirs.getByText("Admins only")).toBeVisible();
    await other.close();
  });
});
