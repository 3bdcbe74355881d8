import { type Browser, expect, test } from "@playwright/test";
import { createTicket, expectAccessible, signIn, type Who } from "./helpers";

// axe on every page of the console and the portal, in the combinations the other journeys do
// not cover: the dark theme (at 390 px and on a wide screen) and the newer pages at 390 px.
// console.spec.ts checks the older pages at 390 px in the light theme and that nothing scrolls
// sideways; this spec only asks axe (no serious or critical violations).

const staffPages = (ticket: string) => [
  "/tickets",
  `/tickets/${ticket}`,
  "/tickets/new",
  "/search?q=printer",
  "/reports",
  "/macros",
  "/keys",
  "/admin/users",
  "/admin/audit",
  "/admin/mailboxes",
  "/admin/quarantine",
  "/admin/rules",
  "/admin/teams",
  "/admin/calendars",
  "/admin/sla-policies",
];
const portalPages = (ticket: string) => ["/tickets", `/tickets/${ticket}`, "/tickets/new"];

async function checkPages(
  browser: Browser,
  who: Who,
  paths: string[],
  options: { width: number; colorScheme: "light" | "dark" },
) {
  const context = await browser.newContext({
    viewport: { width: options.width, height: 844 },
    colorScheme: options.colorScheme,
  });
  const page = await context.newPage();
  await page.goto("/login");
  await expectAccessible(page);
  await signIn(page, who);
  for (const path of paths) {
    await test.step(path, async () => {
      await page.goto(path);
      await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
      await page.waitForLoadState("networkidle");
      await expectAccessible(page);
    });
  }
  await context.close();
}

test.describe("axe on every page", () => {
  test.describe.configure({ timeout: 240_000 }); // many pages, each checked by axe

  let ticket = "";
  test.beforeAll(async () => {
    ticket = await createTicket(`Printer on fire ${Date.now().toString(36)}`);
  });

  test("staff pages at 390 px in the dark theme", async ({ browser }) => {
    await checkPages(browser, "admin", staffPages(ticket), { width: 390, colorScheme: "dark" });
  });

  test("staff pages on a wide screen in the dark theme", async ({ browser }) => {
    await checkPages(browser, "admin", staffPages(ticket), { width: 1280, colorScheme: "dark" });
  });

  test("the newer staff pages at 390 px in the light theme", async ({ browser }) => {
    const newer = ["/search?q=printer", "/reports", "/macros", "/admin/rules", "/admin/teams"];
    await checkPages(browser, "admin", newer, { width: 390, colorScheme: "light" });
  });

  test("the customer portal at 390 px in the dark theme", async ({ browser }) => {
    await checkPages(browser, "customer", portalPages(ticket), { width: 390, colorScheme: "dark" });
  });
});
