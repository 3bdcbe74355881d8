// Front-end figures for scripts/bench_frontend: gzip size of what the initial route loads, and
// time to the first inbox render / to an opened ticket in headless Chromium against a running
// Helpline. Prints figures; asserts nothing.
// Env: BENCH_URL, BENCH_EMAIL, BENCH_PASSWORD, BENCH_RUNS (default 7), HELPLINE_CHROMIUM.
import { chromium } from "@playwright/test";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const url = process.env.BENCH_URL ?? "http://127.0.0.1:8000";
const runs = Number(process.env.BENCH_RUNS ?? 7);

function initialRouteSize() {
  const html = readFileSync(join(root, "dist", "index.html"), "utf8");
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
  let raw = html.length;
  let gz = gzipSync(html).length;
  for (const asset of assets) {
    const bytes = readFileSync(join(root, "dist", asset));
    raw += bytes.length;
    gz += gzipSync(bytes, { level: 9 }).length;
  }
  return { assets: assets.length + 1, raw, gz };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => `median ${median(xs).toFixed(0)} ms, min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)} (n=${xs.length})`;

const size = initialRouteSize();
console.log(`initial route: ${size.assets} files, ${(size.raw / 1024).toFixed(1)} KiB raw, ${(size.gz / 1024).toFixed(1)} KiB gzip (target < 200 KB)`);

const browser = await chromium.launch({
  executablePath: process.env.HELPLINE_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const context = await browser.newContext({ baseURL: url });
const login = await context.request.post("/api/v1/auth/login", {
  data: { email: process.env.BENCH_EMAIL, password: process.env.BENCH_PASSWORD },
});
if (login.status() !== 200) throw new Error(`login failed: ${login.status()} ${await login.text()}`);

const page = await context.newPage();
const firstRow = page.getByRole("table", { name: "Tickets" }).getByRole("row").nth(1);
const rendered = firstRow.or(page.getByText("No tickets match"));
const word = process.env.BENCH_SEARCH ?? "currency";

async function inboxRender(path) {
  await page.goto(path);
  await rendered.waitFor({ timeout: 120_000 });
  // From navigation start to the first ticket row on screen (browser clock).
  return page.evaluate(() => performance.now());
}

async function openTicket() {
  await page.goto("/tickets");
  await firstRow.waitFor();
  const t0 = await page.evaluate(() => performance.now());
  await firstRow.getByRole("link").click();
  await page.getByRole("list", { name: "Conversation" }).or(page.getByText("No messages yet")).waitFor();
  await page.getByRole("heading", { level: 1 }).waitFor();
  return (await page.evaluate(() => performance.now())) - t0;
}

const cold = await inboxRender("/tickets");
const inbox = [];
const filtered = [];
const search = [];
const ticket = [];
for (let i = 0; i < runs; i++) {
  inbox.push(await inboxRender("/tickets"));
  filtered.push(await inboxRender("/tickets?status=open,pending&priority=high"));
  search.push(await inboxRender(`/tickets?q=${word}`));
  ticket.push(await openTicket());
}
const total = await page.evaluate(async () => {
  const r = await fetch("/api/v1/tickets?limit=1");
  return r.ok ? "ok" : String(r.status);
});
console.log(`first inbox render (cold browser cache): ${cold.toFixed(0)} ms`);
console.log(`first inbox render (reload):            ${fmt(inbox)}`);
console.log(`inbox, status+priority filter:          ${fmt(filtered)}`);
console.log(`inbox, full-text search "${word}":     ${fmt(search)}`);
console.log(`open a ticket from the inbox:           ${fmt(ticket)}  (target < 1 s each)`);
console.log(`api check: ${total}`);
await browser.close();
