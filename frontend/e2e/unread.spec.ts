import { type Page, expect, test } from "@playwright/test";
import { createTicket, newSignedInPage, users } from "./helpers";

/** The inbox row of the ticket titled `title` (searched for, so other tests' tickets don't push
 * it off the page). */
async function inboxRow(page: Page, title: string) {
  await page.goto(`/tickets?q=${encodeURIComponent(title)}`);
  return page.getByRole("table", { name: "Tickets" }).getByRole("row").filter({ hasText: title });
}

/** Open the ticket from its row and wait until the server has the read marker. */
async function openAndRead(page: Page, title: string) {
  const marked = page.waitForResponse(
    (r) => r.url().endsWith("/read") && r.request().method() === "PUT" && r.status() === 200,
  );
  await page.getByRole("link", { name: new RegExp(title) }).click();
  await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
  await marked;
}

test.describe("unread markers and the customer panel", () => {
  test("another agent's reply marks the ticket unread in my inbox, live; opening it reads it", async ({ browser }) => {
    test.setTimeout(60_000); // two browser contexts on a shared machine
    const title = `Unread ${Date.now().toString(36)}`;
    await createTicket(title); // by the customer: news to every agent
    const a = await newSignedInPage(browser, "agent1");
    const row = await inboxRow(a, title);
    await expect(row.getByRole("link", { name: `Unread: ${title}` })).toBeVisible();
    await expect(row).toContainText("E2E customer");
    await openAndRead(a, title);
    await a.getByRole("link", { name: "← Back to tickets" }).click();
    const again = await inboxRow(a, title);
    await expect(again.getByRole("link", { name: title, exact: true })).toBeVisible();

    // Agent B replies from their own browser: A's inbox shows it unread without a reload.
    const b = await newSignedInPage(browser, "agent2");
    await (await inboxRow(b, title)).getByRole("link").click();
    await expect(b.getByRole("heading", { level: 1, name: title })).toBeVisible();
    await b.getByRole("textbox", { name: "Message" }).fill("Looking into it");
    await b.getByRole("button", { name: "Send reply" }).click();
    await expect(b.getByRole("status").filter({ hasText: "Reply sent." })).toBeVisible();
    await expect(again.getByRole("link", { name: `Unread: ${title}` })).toBeVisible();

    // B's own reply is no news to B.
    const bRow = await inboxRow(b, title);
    await expect(bRow.getByRole("link", { name: title, exact: true })).toBeVisible();

    // A opens it: read again, also after a reload (the marker is the server's, not the tab's).
    await openAndRead(a, title);
    await a.reload();
    await expect(a.getByRole("heading", { level: 1, name: title })).toBeVisible();
    const read = await inboxRow(a, title);
    await expect(read.getByRole("link", { name: title, exact: true })).toBeVisible();
    await a.context().close();
    await b.context().close();
  });

  test("the customer panel shows the customer's other tickets; mark as unread", async ({ browser }) => {
    test.setTimeout(60_000);
    const stamp = Date.now().toString(36);
    const older = `Panel older ${stamp}`;
    const current = `Panel current ${stamp}`;
    await createTicket(older);
    const id = await createTicket(current);
    const a = await newSignedInPage(browser, "agent1");
    await a.goto(`/tickets/${id}`);
    await expect(a.getByRole("heading", { level: 1, name: current })).toBeVisible();
    const panel = a.getByRole("region", { name: "Customer" });
    await expect(panel).toContainText("E2E customer");
    await expect(panel.getByRole("link", { name: users.customer })).toBeVisible();
    const others = panel.getByRole("list", { name: "Other tickets" });
    await expect(others.getByRole("link", { name: new RegExp(older) })).toBeVisible();
    await expect(others.getByRole("link", { name: new RegExp(current) })).toHaveCount(0);

    await panel.getByRole("link", { name: "View all tickets of E2E customer" }).click();
    await expect(a.getByText("Tickets of")).toContainText("E2E customer");
    const table = a.getByRole("table", { name: "Tickets" });
    await expect(table.getByRole("row").filter({ hasText: older })).toBeVisible();
    await expect(table.getByRole("row").filter({ hasText: current })).toBeVisible();

    // Mark as unread from the ticket page: back in the inbox, it is unread.
    await a.goto(`/tickets/${id}`);
    await expect(a.getByRole("heading", { level: 1, name: current })).toBeVisible();
    await a.getByRole("button", { name: "Mark as unread" }).click();
    await expect(a.getByRole("heading", { level: 1, name: "Inbox" })).toBeVisible();
    const row = await inboxRow(a, current);
    await expect(row.getByRole("link", { name: `Unread: ${current}` })).toBeVisible();
    await a.context().close();
  });
});
