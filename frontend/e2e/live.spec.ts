import { type Page, expect, test } from "@playwright/test";
import { apiAs, createTicket, newSignedInPage } from "./helpers";

/** Marks the document: if the page reloads, the mark is gone. */
async function markNoReload(page: Page) {
  await page.evaluate(() => {
    (window as unknown as { liveMark: number }).liveMark = 1;
  });
}
async function expectNotReloaded(page: Page) {
  expect(await page.evaluate(() => (window as unknown as { liveMark?: number }).liveMark)).toBe(1);
}

/** Wait until the page's event stream is open (its `ready` message came), so that what the test
 * changes next is after the stream's start. */
async function streamReady(page: Page) {
  await page.waitForResponse((r) => r.url().includes("/api/v1/events/stream") && r.status() === 200);
}

test.describe("live collaboration", () => {
  test("agent A sees agent B's change and the customer's new message on the open ticket without reload", async ({ browser }) => {
    test.setTimeout(60_000); // several browser contexts on a shared machine
    const title = `Live ticket ${Date.now().toString(36)}`;
    const id = await createTicket(title);
    const a = await newSignedInPage(browser, "agent1");
    const b = await newSignedInPage(browser, "agent2");
    const ready = streamReady(a);
    await a.goto(`/tickets/${id}`);
    await ready;
    await expect(a.getByRole("heading", { level: 1, name: title })).toBeVisible();
    await markNoReload(a);

    // Agent B, in another browser context, raises the priority through the console.
    await b.goto(`/tickets/${id}`);
    await b.getByLabel("Priority").selectOption("urgent");
    await b.getByRole("button", { name: "Save changes" }).click();
    await expect(b.getByText("Version 2")).toBeVisible();
    await expect(a.getByLabel("Priority")).toHaveValue("urgent");
    await expect(a.getByText("Version 2")).toBeVisible();

    // The customer writes: the message appears in agent A's thread.
    const customer = await apiAs("customer");
    const res = await customer.api.post(`/api/v1/tickets/${id}/conversations`, {
      data: { message: "Any news? It is still smoking." },
      headers: { "X-CSRF-Token": customer.csrf },
    });
    expect(res.status(), await res.text()).toBe(201);
    await customer.api.dispose();
    await expect(a.getByRole("list", { name: "Conversation" }).getByText("Any news? It is still smoking.")).toBeVisible();
    await expectNotReloaded(a);
    await a.context().close();
    await b.context().close();
  });

  test("a new ticket and another agent's change appear in the inbox without reload", async ({ browser }) => {
    test.setTimeout(60_000); // several browser contexts on a shared machine
    const a = await newSignedInPage(browser, "agent1");
    const ready = streamReady(a);
    await a.goto("/tickets");
    await ready;
    await expect(a.getByRole("table", { name: "Tickets" })).toBeVisible();
    await markNoReload(a);
    const title = `Arrives live ${Date.now().toString(36)}`;
    const id = await createTicket(title);
    const row = a.getByRole("table", { name: "Tickets" }).getByRole("row").filter({ hasText: title });
    await expect(row).toBeVisible();

    const b = await apiAs("agent2");
    const res = await b.api.patch(`/api/v1/tickets/${id}`, {
      data: { priority: "urgent" },
      headers: { "X-CSRF-Token": b.csrf },
    });
    expect(res.status(), await res.text()).toBe(200);
    await b.api.dispose();
    await expect(row).toContainText(/urgent/i);
    await expectNotReloaded(a);
    await a.context().close();
  });
});
