import { expect, test } from "@playwright/test";
import { PASSWORD, createTicket, expectAccessible, signIn, users } from "./helpers";

test.describe("sign-in and sign-out", () => {
  test("a wrong password shows the problem with its request id", async ({ page }) => {
    await page.goto("/");
    await expect(page).toHaveURL(/\/login\?next=%2F/);
    await expectAccessible(page);
    await page.getByLabel("Email").fill(users.agent1);
    await page.getByLabel("Password").fill("not-the-password-123");
    await page.getByRole("button", { name: "Sign in" }).click();
    const alert = page.getByRole("alert");
    await expect(alert).toContainText("Invalid credentials");
    await expect(alert).toContainText(/Request id: \S+/);
    await expect(page).toHaveURL(/\/login/);
  });

  test("an agent signs in, lands in the inbox and signs out", async ({ page }) => {
    await signIn(page, "agent1");
    await expect(page).toHaveURL(/\/tickets$/);
    await expect(page.getByRole("heading", { name: "Inbox" })).toBeVisible();
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);
    // The session is gone on the server too: the app sends us back to sign-in.
    await page.goto("/tickets");
    await expect(page).toHaveURL(/\/login\?next=/);
  });

  test("an expired session goes to sign-in and then back where you were", async ({ page, context }) => {
    const id = await createTicket("Session expiry ticket");
    await signIn(page, "agent1");
    await page.goto(`/tickets/${id}`);
    await expect(page.getByRole("heading", { name: "Session expiry ticket" })).toBeVisible();
    await context.clearCookies(); // the server-side session is no longer presented
    await page.getByLabel("Status").selectOption("pending");
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect(page).toHaveURL(/\/login\?expired=1&next=/);
    await expect(page.getByRole("status")).toContainText("Your session has ended");
    await page.getByLabel("Email").fill(users.agent1);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(new RegExp(`/tickets/${id}$`));
    await expect(page.getByRole("heading", { name: "Session expiry ticket" })).toBeVisible();
    await expect(page.getByLabel("Status")).toHaveValue("new"); // the failed change did nothing
  });

  test("a tab without the CSRF token is sent to sign in, and the change is not made", async ({ page }) => {
    const id = await createTicket("Lost CSRF token ticket");
    await signIn(page, "agent1");
    await page.goto(`/tickets/${id}`);
    await expect(page.getByRole("heading", { name: "Lost CSRF token ticket" })).toBeVisible();
    await page.evaluate(() => window.localStorage.clear());
    await page.getByLabel("Status").selectOption("solved");
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect(page).toHaveURL(/\/login\?expired=1&next=/);
    await page.getByLabel("Email").fill(users.agent1);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByLabel("Status")).toHaveValue("new");
    await page.getByLabel("Status").selectOption("solved"); // with a fresh token it works
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect(page.getByText("Version 2")).toBeVisible();
  });
});
