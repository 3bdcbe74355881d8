import { expect, test } from "@playwright/test";
import { expectAccessible, signIn } from "./helpers";

test.describe("saved views", () => {
  test("an agent saves the inbox's filters as a view, reloads, applies it and deletes it", async ({ page }) => {
    const name = `Urgent oldest ${Date.now().toString(36)}`;
    await signIn(page, "agent1");
    await page.goto("/");
    await expect(page.getByRole("heading", { name: "Inbox", level: 1 })).toBeVisible();
    const view = page.getByRole("combobox", { name: "View", exact: true });
    const priority = page.getByRole("combobox", { name: "Priority" });
    const sort = page.getByRole("combobox", { name: "Sort" });

    await priority.selectOption("urgent");
    await sort.selectOption("created_at");
    await expect(page).toHaveURL(/priority=urgent/);
    await page.getByRole("button", { name: "Save view…" }).click();
    const dialog = page.getByRole("dialog", { name: "Save these filters as a view" });
    await dialog.getByLabel("Name").fill(name);
    await expectAccessible(page);
    await dialog.getByRole("button", { name: "Save view" }).click();
    await expect(dialog).toHaveCount(0);
    // The inbox shows the view it matches.
    await expect(view.getByRole("option", { name, selected: true })).toBeAttached();

    // A saved name is refused a second time, with the server's reason.
    await page.getByRole("button", { name: "Save view…" }).click();
    await dialog.getByLabel("Name").fill(name.toUpperCase());
    await dialog.getByRole("button", { name: "Save view" }).click();
    await expect(dialog.getByRole("alert")).toContainText("Name already in use");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(dialog).toHaveCount(0);

    // After a reload and back to the plain inbox, one pick applies the view again.
    await page.reload();
    await page.getByRole("button", { name: "Clear filters" }).click();
    await expect(priority).toHaveValue("");
    await expect(view.getByRole("option", { name: "Unsaved filters", selected: true })).toBeAttached();
    await view.selectOption({ label: name });
    await expect(priority).toHaveValue("urgent");
    await expect(sort).toHaveValue("created_at");
    await expect(page).toHaveURL(/sort=created_at/);
    await expect(view.getByRole("option", { name, selected: true })).toBeAttached();

    // A second view, moved above the first: the select lists them in the saved order.
    const second = `High ${name}`;
    await priority.selectOption("high");
    await page.getByRole("button", { name: "Save view…" }).click();
    await dialog.getByLabel("Name").fill(second);
    await dialog.getByRole("button", { name: "Save view" }).click();
    await expect(dialog).toHaveCount(0);
    await page.getByText("Manage views").click();
    await page.getByRole("button", { name: `Move ${second} up` }).click();
    await expect(view.getByRole("option")).toContainText([second, name]); // in this order
    await page.getByRole("button", { name: `Delete ${second}` }).click();
    await page.getByRole("dialog", { name: `Delete ${second}?` }).getByRole("button", { name: "Delete view" }).click();
    await expect(view.getByRole("option", { name: second })).toHaveCount(0);
    await view.selectOption({ label: name });
    await expect(priority).toHaveValue("urgent");

    await page.getByRole("button", { name: `Delete ${name}` }).click();
    const confirm = page.getByRole("dialog", { name: `Delete ${name}?` });
    await confirm.getByRole("button", { name: "Delete view" }).click();
    await expect(confirm).toHaveCount(0);
    await expect(view.getByRole("option", { name })).toHaveCount(0);
    // The filters stay as they were: deleting a view changes no ticket and no filter.
    await expect(priority).toHaveValue("urgent");
  });
});
