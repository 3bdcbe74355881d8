import { type ChildProcess, spawn } from "node:child_process";
import { expect, test } from "@playwright/test";
import { apiAs, expectAccessible, signIn } from "./helpers";

// The SLA countdown needs the worker: it derives the clocks from the change feed (ADR 0013).
// It runs for this file only, with the server's settings (e2e_start exports them).
let worker: ChildProcess | null = null;
let policyId: string | null = null;
const stamp = Date.now().toString(36);

test.beforeAll(() => {
  worker = spawn("helpline", ["worker"], { env: process.env, stdio: "ignore" });
});

test.afterAll(async () => {
  worker?.kill("SIGTERM");
  if (policyId) {
    const admin = await apiAs("admin");
    await admin.api.delete(`/api/v1/sla-policies/${policyId}`, { headers: { "X-CSRF-Token": admin.csrf } });
    await admin.api.dispose();
  }
});

test("a policy with a tiny target: the inbox shows countdown badges and sorts by SLA due", async ({ page }) => {
  const admin = await apiAs("admin");
  // Only this journey's tickets match (by metadata), so other journeys see no SLA.
  const policy = await admin.api.post("/api/v1/sla-policies", {
    headers: { "X-CSRF-Token": admin.csrf },
    data: {
      name: `E2E tiny target ${stamp}`,
      position: 0,
      conditions: { metadata: { journey: `sla-${stamp}` } },
      targets: {
        high: { first_response: { seconds: 3 * 3600, business: false } },
        urgent: { first_response: { seconds: 90, business: false } },
      },
    },
  });
  expect(policy.status(), await policy.text()).toBe(201);
  policyId = ((await policy.json()) as { id: string }).id;
  await admin.api.dispose();

  const agent = await apiAs("agent1");
  const customer = await apiAs("customer");
  const ids: Record<string, string> = {};
  for (const [name, priority] of [
    ["later", "high"],
    ["tiny", "urgent"],
  ] as const) {
    const res = await agent.api.post("/api/v1/tickets", {
      headers: { "X-CSRF-Token": agent.csrf },
      data: { title: `SLA ${name} ${stamp}`, priority, customer_id: customer.id },
    });
    expect(res.status(), await res.text()).toBe(201);
    ids[name] = ((await res.json()) as { id: string }).id;
    const meta = await agent.api.put(`/api/v1/tickets/${ids[name]}/metadata/journey`, {
      headers: { "X-CSRF-Token": agent.csrf },
      data: { value: `sla-${stamp}` },
    });
    expect(meta.status(), await meta.text()).toBe(200);
  }
  // The worker derives the clocks about a second after the change.
  await expect
    .poll(
      async () => {
        const res = await agent.api.get(`/api/v1/tickets/${ids.tiny}`);
        return ((await res.json()) as { sla: { first_response_due_at: string | null } | null }).sla
          ?.first_response_due_at;
      },
      { timeout: 20_000 },
    )
    .toBeTruthy();
  await customer.api.dispose();
  await agent.api.dispose();

  await signIn(page, "agent1");
  await page.getByRole("searchbox", { name: "Search tickets" }).fill(stamp);
  await page.getByRole("button", { name: "Search" }).click();
  const rows = page.getByRole("table", { name: "Tickets" }).getByRole("row");
  // The list is cached for a few seconds: reload until both tickets show their badge.
  await expect(async () => {
    await page.reload();
    await expect(rows).toHaveCount(3);
    await expect(rows.filter({ hasText: `SLA later ${stamp}` })).toContainText(/due in [23] h/);
  }).toPass({ timeout: 20_000 });
  await expect(rows.filter({ hasText: `SLA tiny ${stamp}` })).toContainText(/due in (< )?\d m|breached/);

  await page.getByLabel("Sort").selectOption({ label: "SLA due" });
  await expect(page).toHaveURL(/sort=sla_due/);
  await expect(rows.nth(1)).toContainText(`SLA tiny ${stamp}`); // the earliest deadline first
  await expect(rows.nth(2)).toContainText(`SLA later ${stamp}`);
  // Text, not only colour: the badge says what is due, for assistive technology too.
  await expect(rows.nth(2).getByText(/SLA first response due in [23] h/)).toBeAttached();
  await expectAccessible(page);

  await rows.nth(1).getByRole("link").click();
  await expect(page).toHaveURL(new RegExp(`/tickets/${ids.tiny}$`));
  const details = page.getByRole("complementary", { name: "Ticket details" });
  await expect(details).toContainText(`E2E tiny target ${stamp}`);
  await expect(details).toContainText(/due in (< )?\d m|breached/);
  await expectAccessible(page);

  // A public reply is the first response: the worker stops the clock and the badge follows
  // without a reload (the live stream, then one refetch once the worker has caught up).
  await page.getByLabel("Message").fill("On it.");
  await page.getByRole("button", { name: "Send reply" }).click();
  await expect(details).not.toContainText(/due in/, { timeout: 15_000 });
  await expect(details).toContainText(`E2E tiny target ${stamp}`);
});
