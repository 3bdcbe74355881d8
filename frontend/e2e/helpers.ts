import AxeBuilder from "@axe-core/playwright";
import { type APIRequestContext, type Browser, type Page, expect, request } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const PASSWORD = process.env.E2E_PASSWORD ?? "";
export const BASE = process.env.E2E_URL ?? "http://127.0.0.1:8000";
export const users = {
  admin: "e2e-admin@example.com",
  agent1: "e2e-agent1@example.com",
  agent2: "e2e-agent2@example.com",
  customer: "e2e-customer@example.com",
  other: "e2e-other@example.com",
} as const;
export type Who = keyof typeof users;

/** An API session (cookie + CSRF) for seeding through the public API, as the UI does. */
export async function apiAs(who: Who): Promise<{ api: APIRequestContext; csrf: string; id: string }> {
  const api = await request.newContext({ baseURL: BASE });
  const res = await api.post("/api/v1/auth/login", { data: { email: users[who], password: PASSWORD } });
  expect(res.status(), await res.text()).toBe(200);
  const body = (await res.json()) as { csrf_token: string; user: { id: string } };
  return { api, csrf: body.csrf_token, id: body.user.id };
}

export async function createTicket(title: string, description = "Created by the browser tests.") {
  const customer = await apiAs("customer");
  const res = await customer.api.post("/api/v1/tickets", {
    data: { title, description },
    headers: { "X-CSRF-Token": customer.csrf },
  });
  expect(res.status(), await res.text()).toBe(201);
  const ticket = (await res.json()) as { id: string };
  await customer.api.dispose();
  return ticket.id;
}

export async function signIn(page: Page, who: Who) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(users[who]);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
}

export async function newSignedInPage(browser: Browser, who: Who): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, who);
  return page;
}

/** axe-core: no serious or critical violations on the page as it is now. */
export async function expectAccessible(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(
    bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
  ).toEqual([]);
}

const here = dirname(fileURLToPath(import.meta.url));
export const SCREENSHOTS = resolve(here, "../../docs/images/web");

/** A screenshot for the docs (docs/images/web/<name>.png). */
export async function docsScreenshot(page: Page, name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.mouse.move(0, 0);
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: false });
}

// A 1×1 PNG: the server detects types from the bytes.
export const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);
