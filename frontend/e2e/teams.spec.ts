import { expect, test } from "@playwright/test";
import { createTicket, expectAccessible, newSignedInPage, signIn } from "./helpers";

test.describe("teams and tags", () => {
  test("an admin makes a team; an agent in it files a ticket there, tags it, and finds it under My teams", async ({
    page,
    browser,
  }) => {
    const name = `Billing ${Date.now().toString(36)}`;
    await signIn(page, "admin");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Teams" }).click();
    await expect(page.getByRole("heading", { name: "Teams", level: 1 })).toBeVisible();
    await page.getByLabel("Name", { exact: true }).fill(name);
    await page.getByLabel("Description", { exact: true }).fill("Invoices and refunds");
    await page.getByRole("button", { name: "Create team" }).click();
    const card = page.getByRole("form", { name });
    await expect(card).toBeVisible();
    await card.getByRole("group", { name: `Members of ${name}` }).getByRole("checkbox", { name: /E2E agent1/ }).check();
    await card.getByRole("button", { name: `Save ${name}` }).click();
    await expect(card.getByRole("status")).toHaveText(`Saved ${name}.`);
    await expectAccessible(page);
    await page.reload();
    await expect(
      page.getByRole("form", { name }).getByRole("checkbox", { name: /E2E agent1/ }),
    ).toBeChecked();

    const title = `team ticket ${Date.now().toString(36)}`;
    const id = await createTicket(title);
    const agent = await newSignedInPage(browser, "agent1");
    await agent.goto(`/tickets/${id}`);
    await agent.getByRole("combobox", { name: /^Team/ }).selectOption({ label: name });
    await agent.getByRole("button", { name: "Save changes" }).click();
    await expect(agent.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
    await agent.getByLabel("Add a tag").fill("refund");
    await agent.getByRole("button", { name: "Add", exact: true }).click();
    await expect(agent.getByRole("list", { name: "Tags" })).toContainText("refund");
    await expectAccessible(agent);

    await agent.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Inbox" }).click();
    const team = agent.getByRole("combobox", { name: /^Team/ });
    await expect(team.locator("optgroup[label='My teams'] option", { hasText: name })).toHaveCount(1);
    await team.selectOption({ label: name });
    await expect(agent).toHaveURL(/team=/);
    const rows = agent.getByRole("table", { name: "Tickets" }).getByRole("row");
    await expect(rows).toHaveCount(2);
    await expect(rows.nth(1)).toContainText(title);
    await expect(rows.nth(1).getByRole("list", { name: "Tags" })).toContainText(name);
    await expect(rows.nth(1).getByRole("list", { name: "Tags" })).toContainText("refund");
    await agent.context().close();
  });
});
