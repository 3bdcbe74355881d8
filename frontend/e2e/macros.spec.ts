import { expect, test } from "@playwright/test";
import { createTicket, expectAccessible, signIn } from "./helpers";

test.describe("macros", () => {
  test("an agent writes a macro (a bad placeholder is refused), then applies it from the composer with the keyboard", async ({
    page,
  }) => {
    const name = `Refund done ${Date.now().toString(36)}`;
    await signIn(page, "agent1");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Macros" }).click();
    await expect(page.getByRole("heading", { name: "Macros", level: 1 })).toBeVisible();
    await page.getByRole("button", { name: "New macro" }).click();
    const form = page.getByRole("form", { name: "New macro" });
    await form.getByLabel("Name", { exact: true }).fill(name);
    await form.getByLabel("Reply", { exact: true }).fill("Hi {{ customer.password }}");
    await form.getByRole("button", { name: "Add an action" }).click();
    await form.getByLabel("Action 1", { exact: true }).selectOption("set");
    await form.getByLabel("Action 1 field").selectOption("status");
    await form.getByLabel("Action 1 value").selectOption("pending");
    await form.getByRole("button", { name: "Add an action" }).click();
    await form.getByLabel("Action 2", { exact: true }).selectOption("add_tags");
    await form.getByLabel("Action 2 tags (comma-separated)").fill("refund");
    await form.getByRole("button", { name: "Create macro" }).click();
    const refused = form.getByRole("alert");
    await expect(refused).toContainText("Template refused");
    await expect(refused).toContainText("customer.password");
    await expectAccessible(page);
    await form.getByLabel("Reply", { exact: true }).fill("Hi {{ customer.name }}, the refund for #{{ ticket.number }} is on its way.");
    await expect(form).toContainText("This reply uses: customer.name, ticket.number.");
    await form.getByRole("button", { name: "Create macro" }).click();
    await expect(page.getByRole("table", { name: "Macros" }).getByRole("row", { name: new RegExp(name) })).toContainText("Personal");

    const id = await createTicket(`macro ticket ${Date.now().toString(36)}`);
    await page.goto(`/tickets/${id}`);
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    await page.keyboard.press("m");
    const picker = page.getByRole("dialog", { name: "Insert a macro" });
    await expect(picker).toBeVisible();
    await expect(picker.getByRole("combobox", { name: "Find a macro" })).toBeFocused();
    await expectAccessible(page);
    await page.keyboard.type(name.slice(0, 12));
    await expect(picker.getByRole("option", { name: new RegExp(name) })).toHaveAttribute("aria-selected", "true");
    await page.keyboard.press("Enter");
    await expect(picker).toHaveCount(0);
    const box = page.getByLabel("Message", { exact: true });
    await expect(box).toHaveValue(/^Hi E2E customer, the refund for #\d+ is on its way\.$/);
    await expect(box).toBeFocused();
    const changes = page.getByRole("list", { name: "Changes made by the macro" });
    await expect(changes).toContainText("Status: new → pending");
    await expect(changes).toContainText("Tags: + refund");
    await expect(page.getByRole("list", { name: "Tags" })).toContainText("refund");
    await expectAccessible(page);

    // Nothing was sent: the agent reviews, edits, then sends.
    await box.press("End");
    await box.pressSequentially(" Best regards");
    await page.getByRole("button", { name: "Send reply" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Reply sent." })).toBeVisible();
    const used = await page.request.get("/api/v1/macros");
    const mine = ((await used.json()) as { name: string; usage_count: number }[]).find((m) => m.name === name);
    expect(mine?.usage_count).toBe(1);
  });

  test("the picker opens from its button, filters, and Escape closes it", async ({ page }) => {
    const id = await createTicket(`picker ${Date.now().toString(36)}`);
    await signIn(page, "agent2");
    await page.goto(`/tickets/${id}`);
    await page.getByRole("button", { name: "Insert macro (m)" }).click();
    const picker = page.getByRole("dialog", { name: "Insert a macro" });
    await picker.getByRole("combobox", { name: "Find a macro" }).fill("zz-no-such-macro");
    await expect(picker.getByRole("status")).toHaveText(/No macro matches|No macros yet/);
    await page.keyboard.press("Escape");
    await expect(picker).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Insert macro (m)" })).toBeFocused();
  });
});
