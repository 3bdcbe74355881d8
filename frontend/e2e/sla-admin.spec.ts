import { type ChildProcess, spawn } from "node:child_process";
import { type Page, expect, test } from "@playwright/test";
import { apiAs, docsScreenshot, expectAccessible, signIn } from "./helpers";

// Saving a policy queues a recomputation of open tickets' deadlines, run by the worker: this
// spec runs one next to the e2e server (with the server's environment, as scripts/test exports
// it) and stops it at the end.
let worker: ChildProcess | null = null;

test.beforeAll(() => {
  expect(process.env.HELPLINE_DATABASE_URL, "run through scripts/test (it exports the server's environment)").toBeTruthy();
  worker = spawn("helpline", ["worker"], { env: process.env, stdio: "ignore" });
});

const made: string[] = []; // this spec's policy names: deleted at the end

test.afterAll(async () => {
  // The policies apply to every ticket of their priority: left behind, they would take
  // precedence over the policies later journeys (e2e/sla.spec.ts) create for their tickets.
  const admin = await apiAs("admin");
  const policies = (await (await admin.api.get("/api/v1/sla-policies")).json()) as { id: string; name: string }[];
  for (const policy of policies.filter((p) => made.includes(p.name))) {
    // A delete racing the worker's recomputation is a 409 that says "retry": retry, as a client should.
    await expect
      .poll(async () => (await admin.api.delete(`/api/v1/sla-policies/${policy.id}`, { headers: { "X-CSRF-Token": admin.csrf } })).status(), {
        timeout: 30_000,
      })
      .toBe(204);
  }
  await admin.api.dispose();
  if (worker && worker.exitCode === null) {
    const done = new Promise((resolve) => worker?.once("exit", resolve));
    worker.kill("SIGTERM");
    await done;
  }
});

const unique = () => Date.now().toString(36) + Math.random().toString(36).slice(2, 6);

async function openAdmin(page: Page, link: string, heading: string) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: link, exact: true }).click();
  await expect(page.getByRole("heading", { name: heading, level: 1 })).toBeVisible();
}

/** Position of each name in the ordered policies table (row order). */
async function order(page: Page, names: string[]): Promise<number[]> {
  const rows = await page.getByRole("table", { name: "SLA policies in order" }).getByRole("row").allTextContents();
  return names.map((n) => rows.findIndex((r) => r.includes(n)));
}

test.describe("SLA admin", () => {
  test("creates a calendar with a holiday, creates and reorders policies, and sees the recompute finish", async ({ page }) => {
    test.setTimeout(120_000); // the worker recomputes on a shared machine
    const id = unique();
    const office = `Office ${id}`;
    await signIn(page, "admin");
    await openAdmin(page, "Calendars", "Calendars");
    await expectAccessible(page);

    // A calendar: office hours Mon–Fri (the default), a Saturday night shift, Christmas yearly.
    const create = page.getByRole("form", { name: "Create a calendar" });
    await create.getByLabel("Name", { exact: true }).fill(office);
    await create.getByLabel("Time zone").fill("Europe/Berlin");
    await create.getByRole("button", { name: "Add interval" }).click();
    await create.getByLabel("Day of interval 6").selectOption("Saturday");
    await create.getByLabel("Start of interval 6").fill("22h");
    await create.getByLabel("End of interval 6").fill("06:00");
    await create.getByRole("button", { name: "Add holiday" }).click();
    await create.getByLabel("Kind of holiday 1").selectOption("Every year");
    await create.getByLabel("Month of holiday 1").selectOption("December");
    await create.getByLabel("Day of holiday 1").fill("25");
    await create.getByLabel("Name of holiday 1").fill("Christmas");
    await create.getByRole("button", { name: "Create calendar" }).click();
    // The form checks what it can itself: the message sits next to the field.
    await expect(create.getByLabel("Start of interval 6")).toHaveAttribute("aria-invalid", "true");
    await expect(create.getByText("Use HH:MM.")).toBeVisible();
    await create.getByLabel("Start of interval 6").fill("22:00");
    await expect(create.getByText("overnight, until 06:00 on Sunday")).toBeVisible();
    await expectAccessible(page);
    await create.getByRole("button", { name: "Create calendar" }).click();
    await expect(page.getByRole("status").filter({ hasText: `Created ${office}.` })).toBeVisible();
    const row = page.getByRole("row").filter({ hasText: office });
    await expect(row).toContainText("Europe/Berlin");
    await expect(row).toContainText("Sat 22:00–06:00");
    await expect(row.getByRole("cell").nth(3)).toHaveText("1");

    // The server's problem lands next to its field: the name is taken.
    const again = page.getByRole("form", { name: "Create a calendar" });
    await again.getByLabel("Name", { exact: true }).fill(office);
    await again.getByLabel("Time zone").fill("Europe/Berlin");
    await again.getByRole("button", { name: "Create calendar" }).click();
    await expect(again.getByLabel("Name", { exact: true })).toHaveAttribute("aria-invalid", "true");
    await expect(again.getByRole("alert")).toContainText("Name already in use");

    // Public holidays of a country and year, from the `holidays` package.
    await page.getByRole("button", { name: `Edit ${office}` }).click();
    const seed = page.getByRole("form", { name: `Seed public holidays into ${office}` });
    await seed.getByLabel("Country (ISO code, e.g. DE)").fill("DE");
    await seed.getByLabel("Years (comma-separated)").fill("2027");
    await seed.getByRole("button", { name: "Add public holidays" }).click();
    await expect(page.getByRole("status").filter({ hasText: /Added \d+ public holidays to/ })).toBeVisible();
    await expect(row.getByRole("cell").nth(3)).not.toHaveText("1");
    await docsScreenshot(page, "sla-calendars");

    // Two policies; the second lands last, then moves up past the first.
    await openAdmin(page, "SLA policies", "SLA policies");
    const standard = `Standard ${id}`;
    const vip = `VIP ${id}`;
    made.push(standard, vip);
    let form = page.getByRole("form", { name: "Create a policy" });
    await form.getByLabel("Name", { exact: true }).fill(standard);
    await form.getByLabel("Calendar").selectOption({ label: `${office} (Europe/Berlin)` });
    await form.getByLabel("Normal first response hours").fill("2");
    await form.getByLabel("Normal first response minutes").fill("75");
    await form.getByRole("button", { name: "Create policy" }).click();
    await expect(form.getByText("Minutes must be below 60.")).toBeVisible();
    await expect(form.getByLabel("Normal first response minutes")).toHaveAttribute("aria-invalid", "true");
    await form.getByLabel("Normal first response minutes").fill("30");
    await expectAccessible(page);
    await form.getByRole("button", { name: "Create policy" }).click();
    await expect(page.getByRole("status").filter({ hasText: `Created ${standard}.` })).toBeVisible();
    await expect(page.getByRole("row").filter({ hasText: standard })).toContainText("first response 2 h 30 min");
    await expect(page.getByRole("status").filter({ hasText: "Deadlines recomputed" })).toBeVisible({ timeout: 60_000 });

    form = page.getByRole("form", { name: "Create a policy" });
    await form.getByLabel("Name", { exact: true }).fill(vip);
    await form.getByRole("group", { name: "Priorities (none: any)" }).getByLabel("Urgent").check();
    await form.getByRole("checkbox", { name: "Urgent first response in business hours" }).uncheck();
    await form.getByLabel("Calendar").selectOption({ label: `${office} (Europe/Berlin)` });
    await form.getByRole("button", { name: "Create policy" }).click();
    await expect(page.getByRole("status").filter({ hasText: `Created ${vip}.` })).toBeVisible();
    await expect(page.getByRole("row").filter({ hasText: vip })).toContainText("priority urgent");
    const [s1, v1] = await order(page, [standard, vip]);
    expect(v1).toBeGreaterThan(s1 ?? -1);

    await page.getByRole("button", { name: `Move ${vip} up` }).click();
    await expect(page.getByRole("status").filter({ hasText: `Moved ${vip} up` })).toBeVisible();
    await expect.poll(async () => {
      const [s, v] = await order(page, [standard, vip]);
      return (v ?? 0) < (s ?? 0);
    }).toBe(true);
    const progress = page.getByRole("status").filter({ hasText: /Recomputing|queued|Deadlines recomputed/ });
    await expect(progress).toBeVisible();
    await expect(page.getByRole("status").filter({ hasText: "Deadlines recomputed" })).toBeVisible({ timeout: 60_000 });
    await expect(page.getByRole("progressbar", { name: "Recomputation of deadlines" })).toBeVisible();
    await expectAccessible(page);
    await docsScreenshot(page, "sla-policies");
  });
});
