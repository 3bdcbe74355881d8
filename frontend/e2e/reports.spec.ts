import { type ChildProcess, spawn } from "node:child_process";
import { expect, test } from "@playwright/test";
import { apiAs, createTicket, docsScreenshot, expectAccessible, signIn } from "./helpers";

// Reports read metric facts the worker writes from the change feed: this spec runs a worker next
// to the e2e server (with the server's environment, which scripts/test exports).
let worker: ChildProcess | null = null;

test.beforeAll(() => {
  expect(process.env.HELPLINE_DATABASE_URL, "run through scripts/test (it exports the server's environment)").toBeTruthy();
  worker = spawn("helpline", ["worker"], { env: process.env, stdio: "ignore" });
});

test.afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const done = new Promise((resolve) => worker?.once("exit", resolve));
    worker.kill("SIGTERM");
    await done;
  }
});

test.describe("reports", () => {
  test("an agent answers and solves a ticket, then reads it in the reports, with tables and CSV", async ({ page }) => {
    const ticket = await createTicket(`Report me ${Date.now().toString(36)}`);
    const agent = await apiAs("agent1");
    const headers = { "X-CSRF-Token": agent.csrf };
    // An internal note first: it is no response. Then the public reply, then the solve.
    for (const data of [{ message: "Looking into it.", is_internal: true }, { message: "Fixed, please retry.", is_internal: false }]) {
      const res = await agent.api.post(`/api/v1/tickets/${ticket}/conversations`, { data, headers });
      expect(res.status(), await res.text()).toBe(201);
    }
    const solved = await agent.api.patch(`/api/v1/tickets/${ticket}`, { data: { status: "solved", assigned_to: agent.id }, headers });
    expect(solved.status(), await solved.text()).toBe(200);

    // The worker records the facts within a second or two.
    await expect
      .poll(
        async () => {
          const today = new Date().toISOString().slice(0, 10);
          const res = await agent.api.get("/api/v1/reports/resolution", {
            params: { period_start: `${today}T00:00:00Z`, period_end: `${today}T23:59:59Z`, agent: agent.id },
          });
          const body = (await res.json()) as { buckets: { tickets: number }[] };
          return body.buckets.reduce((n, b) => n + b.tickets, 0);
        },
        { timeout: 20_000 },
      )
      .toBeGreaterThan(0);
    await agent.api.dispose();

    await signIn(page, "agent1");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Reports" }).click();
    await expect(page.getByRole("heading", { name: "Reports", level: 1 })).toBeVisible();
    await page.getByLabel("Time zone").fill("UTC");
    await page.getByLabel("Agent").selectOption({ label: "E2E agent1" });
    await page.getByRole("button", { name: "Show reports" }).click();
    await expect(page).toHaveURL(/time_zone=UTC/);

    for (const name of ["First response time", "Resolution time", "Backlog", "Reopens", "SLA attainment", "Volume"]) {
      await expect(page.getByRole("heading", { name, level: 2 })).toBeVisible();
    }
    // Every chart has its table; the numbers are in the table.
    const firstResponse = page.getByRole("table", { name: "First response time per bucket" });
    await expect(firstResponse).toBeVisible();
    await expect(firstResponse.getByRole("row")).not.toHaveCount(1);
    await expect(page.getByRole("img", { name: /Median first response time per bucket/ })).toBeVisible();
    await expect(page.getByRole("table", { name: "Backlog per bucket" })).toBeVisible();
    await expect(page.getByText(/Internal notes and automatic messages do not count/i).first()).toBeVisible();
    await docsScreenshot(page, "reports");

    // Interval and grouping are URL state; the CSV link carries the same query.
    await page.getByLabel("Interval").selectOption("week");
    await page.getByRole("button", { name: "Show reports" }).click();
    await expect(page).toHaveURL(/interval=week/);
    await page.getByLabel("Volume by").selectOption("priority");
    await expect(page).toHaveURL(/group_by=priority/);
    const csv = page.getByRole("link", { name: "Download CSV of volume" });
    // Auto-waiting: the link follows the URL on the next render.
    await expect(csv).toHaveAttribute("href", /group_by=priority/);
    const href = await csv.getAttribute("href");
    expect(href).toContain("format=csv");
    expect(href).toContain("group_by=priority");
    const response = await page.request.get(href ?? "");
    expect(response.headers()["content-type"]).toContain("text/csv");
    expect((await response.text()).split("\r\n")[0]).toBe("start,tickets,key,key_tickets");

    await expectAccessible(page);
  });

  test("customers get no reports", async ({ page }) => {
    await signIn(page, "customer");
    await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Reports" })).toHaveCount(0);
    await page.goto("/reports");
    await expect(page.getByText("Staff only")).toBeVisible();
  });
});
