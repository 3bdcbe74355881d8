import { expect, test } from "@playwright/test";
import { apiAs, createTicket, expectAccessible, signIn } from "./helpers";

test.describe("rules", () => {
  test("an admin builds a rule from lists, dry-runs it, enables it and reorders the rules", async ({ page }) => {
    const stamp = Date.now().toString(36);
    const tag = `vip${stamp}`;
    const title = `rule ticket ${stamp}`;
    const id = await createTicket(title);
    const agent = await apiAs("agent1");
    const tagged = await agent.api.put(`/api/v1/tickets/${id}/tags/${tag}`, { headers: { "X-CSRF-Token": agent.csrf } });
    expect(tagged.status()).toBe(200);
    await agent.api.dispose();
    const admin = await apiAs("admin");
    const other = `Earlier rule ${stamp}`;
    const created = await admin.api.post("/api/v1/rules", {
      headers: { "X-CSRF-Token": admin.csrf },
      data: {
        name: other,
        enabled: false,
        position: 999_000,
        conditions: { all: [{ field: "event", op: "eq", value: "ticket.created" }] },
        actions: [{ type: "add_tags", tags: ["seen"] }],
      },
    });
    expect(created.status(), await created.text()).toBe(201);
    await admin.api.dispose();

    const name = `VIP is urgent ${stamp}`;
    await signIn(page, "admin");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Rules" }).click();
    await expect(page.getByRole("heading", { name: "Rules", level: 1 })).toBeVisible();
    await page.getByRole("button", { name: "New rule" }).click();
    const form = page.getByRole("form", { name: "New rule" });
    await form.getByLabel("Name", { exact: true }).fill(name);
    // All of: the tag (the default first condition is the event: change its field).
    await form.getByLabel("All of: condition 1 field").selectOption("tags");
    await form.getByLabel("All of: condition 1 operator").selectOption("includes");
    await form.getByLabel("All of: condition 1 value").fill(tag);
    // Any of: priority is one of low, normal.
    await form.getByRole("button", { name: "Add a condition to any of" }).click();
    await form.getByLabel("Any of: condition 1 field").selectOption("priority");
    await form.getByLabel("Any of: condition 1 operator").selectOption("in");
    await form.getByLabel("Any of: condition 1 values").selectOption(["low", "normal"]);
    await form.getByLabel("Action 1 field").selectOption("priority");
    await form.getByLabel("Action 1 value").selectOption("urgent");
    await expectAccessible(page);
    await form.getByRole("button", { name: "Create rule" }).click();
    await expect(page.getByRole("form", { name: `Edit ${name}` })).toBeVisible();

    const saved = (await (await page.request.get("/api/v1/rules")).json()) as { name: string; enabled: boolean; conditions: unknown; actions: unknown }[];
    const rule = saved.find((r) => r.name === name);
    expect(rule?.enabled).toBe(false);
    expect(rule?.conditions).toEqual({
      all: [{ field: "tags", op: "includes", value: tag }],
      any: [{ field: "priority", op: "in", value: ["low", "normal"] }],
    });
    expect(rule?.actions).toEqual([{ type: "set", field: "priority", value: "urgent" }]);

    await page.getByRole("button", { name: "Dry run", exact: true }).click();
    const dry = page.getByRole("region", { name: "Dry run" });
    await expect(dry.getByRole("status")).toHaveText(/^1 of \d+ tickets would match\.$/);
    const match = dry.getByRole("table", { name: "Tickets that would match" }).getByRole("row", { name: new RegExp(title) });
    await expect(match).toContainText("Priority: normal → urgent");
    const ticket = (await (await page.request.get(`/api/v1/tickets/${id}`)).json()) as { priority: string };
    expect(ticket.priority).toBe("normal"); // a dry run changes nothing
    await expect(page.getByRole("region", { name: "Execution log" })).toContainText("The rule has not run yet.");
    await expectAccessible(page);

    // The list: enable it, and move it above the other rule.
    const table = page.getByRole("table", { name: "Rules in run order" });
    await table.getByRole("checkbox", { name: `${name} enabled` }).click();
    await expect(table.getByRole("checkbox", { name: `${name} enabled` })).toBeChecked();
    const order = async () => (await table.getByRole("row").allInnerTexts()).findIndex((t) => t.includes(name)) -
      (await table.getByRole("row").allInnerTexts()).findIndex((t) => t.includes(other));
    expect(await order()).toBeGreaterThan(0);
    await table.getByRole("button", { name: `Move ${name} up` }).click();
    await expect.poll(order).toBeLessThan(0);
    const after = (await (await page.request.get("/api/v1/rules")).json()) as { name: string; enabled: boolean }[];
    expect(after.find((r) => r.name === name)?.enabled).toBe(true);
  });

  test("an incomplete rule is explained, not sent", async ({ page }) => {
    await signIn(page, "admin");
    await page.goto("/admin/rules");
    await page.getByRole("button", { name: "New rule" }).click();
    const form = page.getByRole("form", { name: "New rule" });
    await form.getByLabel("Name", { exact: true }).fill(`incomplete ${Date.now().toString(36)}`);
    await form.getByLabel("All of: condition 1 field").selectOption("team_id");
    await form.getByRole("button", { name: "Create rule" }).click();
    await expect(form.getByRole("alert")).toHaveText("Team: choose a value.");
  });

  test("an admin builds a time rule in business days of a calendar", async ({ page }) => {
    const stamp = Date.now().toString(36);
    const admin = await apiAs("admin");
    const made = await admin.api.post("/api/v1/calendars", {
      headers: { "X-CSRF-Token": admin.csrf },
      data: { name: `Office ${stamp}`, time_zone: "Europe/Berlin", intervals: [{ weekday: 0, start: "09:00", end: "17:00" }] },
    });
    expect(made.status(), await made.text()).toBe(201);
    const calendar = (await made.json()) as { id: string };
    await admin.api.dispose();

    const name = `Nudge waiting tickets ${stamp}`;
    await signIn(page, "admin");
    await page.goto("/admin/rules");
    await page.getByRole("button", { name: "New rule" }).click();
    const form = page.getByRole("form", { name: "New rule" });
    await form.getByLabel("Name", { exact: true }).fill(name);
    await form.getByLabel("All of: condition 1 field").selectOption("time.status_changed");
    await form.getByLabel("All of: condition 1 amount").fill("3");
    await form.getByLabel("All of: condition 1 unit").selectOption("business_days");
    await form.getByLabel("All of: condition 1 calendar").selectOption(calendar.id);
    await form.getByRole("button", { name: "Add a condition to all of" }).click();
    await form.getByLabel("All of: condition 2 field").selectOption("status");
    await form.getByLabel("All of: condition 2 value").selectOption("pending");
    await form.getByLabel("Action 1 field").selectOption("priority");
    await form.getByLabel("Action 1 value").selectOption("high");
    await form.getByRole("button", { name: "Create rule" }).click();
    await expect(page.getByRole("form", { name: `Edit ${name}` })).toBeVisible();
    const saved = (await (await page.request.get("/api/v1/rules")).json()) as { name: string; conditions: unknown }[];
    expect(saved.find((r) => r.name === name)?.conditions).toEqual({
      all: [
        { field: "time.status_changed", op: "older_than", value: { amount: 3, unit: "business_days", calendar_id: calendar.id } },
        { field: "status", op: "eq", value: "pending" },
      ],
      any: [],
    });
    // Opened again, the editor shows the time condition as it was built.
    const edit = page.getByRole("form", { name: `Edit ${name}` });
    await expect(edit.getByLabel("All of: condition 1 amount")).toHaveValue("3");
    await expect(edit.getByLabel("All of: condition 1 calendar")).toHaveValue(calendar.id);
  });
});
