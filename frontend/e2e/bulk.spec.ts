import { expect, test } from "@playwright/test";
import { apiAs, createTicket, expectAccessible, signIn } from "./helpers";

test.describe("bulk actions", () => {
  test("an agent selects tickets by click, shift-click and x, and changes them in one go", async ({ page }) => {
    const token = `bulk${Date.now().toString(36)}`;
    const ids: string[] = [];
    for (const n of [1, 2, 3, 4]) ids.push(await createTicket(`${token} ticket ${n}`));
    const agent = await apiAs("agent1");
    const closed = await agent.api.patch(`/api/v1/tickets/${ids[0]}`, {
      data: { status: "closed" },
      headers: { "X-CSRF-Token": agent.csrf },
    });
    expect(closed.status()).toBe(200);

    await signIn(page, "agent1");
    await page.goto(`/tickets?status=all&q=${token}`);
    const rows = page.getByRole("table", { name: "Tickets" }).getByRole("row");
    await expect(rows).toHaveCount(5); // header + 4
    const boxes = page.getByRole("checkbox", { name: new RegExp(`^Select ${token} ticket`) });
    await boxes.nth(0).click();
    await boxes.nth(2).click({ modifiers: ["Shift"] }); // a range: rows 1-3
    await expect(page.getByRole("region", { name: "Bulk actions" })).toContainText("3 tickets selected");
    // The keyboard: j moves to a row, x selects it.
    await page.locator("body").click({ position: { x: 1, y: 1 } });
    for (let i = 0; i < 4; i++) await page.keyboard.press("j");
    await page.keyboard.press("x");
    const bar = page.getByRole("region", { name: "Bulk actions" });
    await expect(bar).toContainText("4 tickets selected");
    await expect(page.getByRole("checkbox", { name: "Select all tickets shown" })).toBeChecked();
    await expectAccessible(page);

    await bar.getByLabel("Set status").selectOption("pending");
    await bar.getByLabel("Set priority").selectOption("high");
    await bar.getByLabel("Add tag").fill("bulk-e2e");
    await bar.getByRole("button", { name: "Apply to 4" }).click();
    await expect(bar.getByRole("status")).toHaveText("3 tickets changed, 1 closed.");
    await expect(bar.getByRole("list", { name: "Tickets not changed" })).toContainText(`${token} ticket 1`);
    await expectAccessible(page);

    for (const id of ids.slice(1)) {
      const got = (await (await agent.api.get(`/api/v1/tickets/${id}`)).json()) as {
        status: string;
        priority: string;
        tags: string[];
      };
      expect([got.status, got.priority, got.tags]).toEqual(["pending", "high", ["bulk-e2e"]]);
    }
    const untouched = (await (await agent.api.get(`/api/v1/tickets/${ids[0]}`)).json()) as { status: string; tags: string[] };
    expect([untouched.status, untouched.tags]).toEqual(["closed", []]);
    // The rows show the new tag, and the inbox filters by it.
    await page.getByLabel("Tag", { exact: true }).fill("bulk-e2e");
    await page.getByLabel("Tag", { exact: true }).press("Enter");
    await expect(page).toHaveURL(/tag=bulk-e2e/);
    await expect(rows).toHaveCount(4);
    await expect(rows.nth(1).getByRole("list", { name: "Tags" })).toContainText("bulk-e2e");
    await agent.api.dispose();
  });

  test("customers have no bulk selection", async ({ page }) => {
    await createTicket(`portal ${Date.now().toString(36)}`);
    await signIn(page, "customer");
    await expect(page.getByRole("table", { name: "Tickets" })).toBeVisible();
    await expect(page.getByRole("checkbox", { name: /^Select / })).toHaveCount(0);
  });
});
