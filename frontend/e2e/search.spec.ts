import { expect, test } from "@playwright/test";
import { apiAs, createTicket, expectAccessible, signIn } from "./helpers";

async function say(who: "customer" | "agent1", ticketId: string, message: string, internal = false) {
  const session = await apiAs(who);
  const res = await session.api.post(`/api/v1/tickets/${ticketId}/conversations`, {
    data: { message, is_internal: internal },
    headers: { "X-CSRF-Token": session.csrf },
  });
  expect(res.status(), await res.text()).toBe(201);
  await session.api.dispose();
}

test.describe("search", () => {
  test("finds words in messages, marks them, and keeps internal notes from customers", async ({ page, browser }) => {
    const tag = Date.now().toString(36);
    const publicWord = `toner${tag}`;
    const secretWord = `vendor${tag}`;
    const title = `Search journey ${tag}`;
    const ticketId = await createTicket(title);
    await say("customer", ticketId, `The ${publicWord} smells <b>burnt</b> since Monday.`);
    await say("agent1", ticketId, `Known issue with the ${secretWord} batch.`, true);

    // An agent finds the ticket by a word of the internal note, marked as such.
    await signIn(page, "agent1");
    await page.getByRole("link", { name: "Search", exact: true }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Search", exact: true })).toBeVisible();
    await page.getByLabel("Words to find").fill(secretWord);
    await page.getByRole("button", { name: "Search", exact: true }).click();
    const results = page.getByRole("list", { name: "Search results" });
    await expect(results.getByRole("listitem")).toHaveCount(1);
    await expect(results.getByText("internal note")).toBeVisible();
    await expect(results.locator("mark")).toHaveText(secretWord);
    await expect(page).toHaveURL(new RegExp(`[?&]q=${secretWord}`));
    await expectAccessible(page);

    // The public word; the message's markup never becomes HTML (PostgreSQL's headline drops
    // tag-like tokens from the excerpt, and the console renders runs as text).
    await page.getByLabel("Words to find").fill(publicWord);
    await page.getByLabel("Look in").selectOption("messages");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await expect(results.locator("mark")).toHaveText(publicWord);
    await expect(results.getByText("smells burnt since Monday", { exact: false })).toBeVisible();
    await expect(results.locator("b")).toHaveCount(0);
    await results.getByRole("link", { name: new RegExp(title) }).click();
    await expect(page).toHaveURL(new RegExp(`/tickets/${ticketId}$`));

    // The inbox's search box looks in the messages too.
    await page.goto(`/tickets?q=${publicWord}`);
    await expect(page.getByRole("table", { name: "Tickets" }).getByRole("link", { name: title })).toBeVisible();

    // The customer finds their ticket by the public word, never by the note's.
    const context = await browser.newContext();
    const customer = await context.newPage();
    await signIn(customer, "customer");
    await customer.goto(`/search?q=${secretWord}`);
    await expect(customer.getByText("Nothing found")).toBeVisible();
    await customer.goto(`/search?q=${publicWord}`);
    await expect(customer.getByRole("list", { name: "Search results" }).getByRole("listitem")).toHaveCount(1);
    await expect(customer.getByText("internal note")).toHaveCount(0);
    await context.close();
  });
});
