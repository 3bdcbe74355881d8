// Front-end figures for scripts/bench_frontend: gzip size of what the initial route loads, and
// time to the first inbox render / to an opened ticket in headless Chromium against a running
// Helpline. Prints figures; asserts nothing.
// Env: BENCH_URL, BENCH_EMAIL, BENCH_PASSWORD, BENCH_RUNS (default 7), HELPLINE_CHROMIUM.
import { chromium } from "@playwright/test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = process.env.BENCH_DIST ?? join(root, "dist");
const url = process.env.BENCH_URL ?? "http://127.0.0.1:8000";
const runs = Number(process.env.BENCH_RUNS ?? 7);

// What the initial route costs on the wire: the build's precompressed files when it has them
// (what `helpline serve` sends), else compressed here for comparison.
function initialRouteSize() {
  const html = readFileSync(join(dist, "index.html"), "utf8");
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
  let raw = html.length;
  let gz = gzipSync(html).length;
  let br = brotliCompressSync(html).length;
  let stored = 0;
  for (const asset of assets) {
    const path = join(dist, asset);
    const bytes = readFileSync(path);
    raw += bytes.length;
    gz += existsSync(`${path}.gz`) ? readFileSync(`${path}.gz`).length : gzipSync(bytes, { level: 9 }).length;
    br += existsSync(`${path}.br`) ? readFileSync(`${path}.br`).length : brotliCompressSync(bytes).length;
      stored += existsSync(`${path}.gz`) ? 1 : 0;
  }
  return { assets: assets.length + 1, raw, gz, br, precompressed: stored > 0 };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => `median ${median(xs).toFixed(0)} ms, min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)} (n=${xs.length})`;

const size = initialRouteSize();
console.log(
  `initial route: ${size.assets} files, ${(size.raw / 1024).toFixed(1)} KiB raw, ${(size.gz / 1024).toFixed(1)} KiB gzip, ` +
    `${(size.br / 1024).toFixed(1)} KiB brotli (${size.precompressed ? "precompressed by the build" : "not precompressed: served raw"}; target < 120 KB)`,
);

const browser = await chromium.launch({
  executablePath: process.env.HELPLINE_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const context = await browser.newContext({ baseURL: url });
// Through the sign-in page, as a person does: the app keeps the CSRF token the login returns
// (a login through the API alone leaves it without one, and its first unsafe request, the
// presence heartbeat of an opened ticket, is a 403 that sends it back to sign in).
async function signIn(tab) {
  await tab.goto("/login");
  await tab.getByLabel("Email").fill(process.env.BENCH_EMAIL);
  await tab.getByLabel("Password").fill(process.env.BENCH_PASSWORD);
  await tab.getByRole("button", { name: "Sign in" }).click();
  await tab.getByRole("button", { name: "Sign out" }).waitFor();
  // Signed in, the HTTP cache emptied again: what follows starts cold.
  const cdp = await tab.context().newCDPSession(tab);
  await cdp.send("Network.clearBrowserCache");
  await cdp.detach();
}

const page = await context.newPage();
page.setDefaultTimeout(120_000); // a shared 2-core machine: a guard against hangs, not a target
await signIn(page);
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
  await firstRow.getByRole("link").first().click();
  await page.getByRole("list", { name: "Conversation" }).or(page.getByText("No messages yet")).waitFor();
  await page.getByRole("heading", { level: 1 }).waitFor();
  return (await page.evaluate(() => performance.now())) - t0;
}

const cold = await inboxRender("/tickets");
console.log(`first inbox render (cold browser cache): ${cold.toFixed(0)} ms`);
const inbox = [];
const filtered = [];
const search = [];
const ticket = [];
for (let i = 0; i < runs; i++) {
  inbox.push(await inboxRender("/tickets"));
  filtered.push(await inboxRender("/tickets?status=open,pending&priority=high"));
  search.push(await inboxRender(`/tickets?q=${word}`));
  // On a loaded machine a step can miss its timeout: say so and go on with the other figures.
  ticket.push(await openTicket().catch((e) => (console.log(`open a ticket: ${e.message.split("\n")[0]}`), NaN)));
}
const total = await page.evaluate(async () => {
  const r = await fetch("/api/v1/tickets?limit=1");
  return r.ok ? "ok" : String(r.status);
});
const done = (xs) => xs.filter((x) => !Number.isNaN(x));
console.log(`first inbox render (reload):            ${fmt(inbox)}`);
console.log(`inbox, status+priority filter:          ${fmt(filtered)}`);
console.log(`inbox, full-text search "${word}":     ${fmt(search)}`);
if (done(ticket).length) console.log(`open a ticket from the inbox:           ${fmt(done(ticket))}  (target < 1 s each)`);
/** Requests and bytes on the wire (headers + encoded bodies) while `load` shows the inbox. */
async function traffic(page, load) {
  const seen = [];
  const pending = [];
  const onDone = (req) =>
    pending.push(
      req.sizes().then(
        (s) => seen.push({ url: req.url(), bytes: s.responseBodySize + s.responseHeadersSize }),
        () => seen.push({ url: req.url(), bytes: 0 }),
      ),
    );
  page.on("requestfinished", onDone);
  await load();
  await page.waitForLoadState("networkidle");
  page.off("requestfinished", onDone);
  await Promise.all(pending);
  const api = seen.filter((r) => new URL(r.url).pathname.startsWith("/api/"));
  const sum = (xs) => (xs.reduce((n, r) => n + r.bytes, 0) / 1024).toFixed(1);
  return `${seen.length} requests, ${sum(seen)} KiB (API: ${api.length} requests, ${sum(api)} KiB: ${api.map((r) => new URL(r.url).pathname.replace("/api/v1", "")).join(" ")})`;
}

// A fresh browser context (empty cache, signed in like the first one).
const fresh = await browser.newContext({ baseURL: url });
const tab = await fresh.newPage();
tab.setDefaultTimeout(120_000);
await signIn(tab);
const row = tab.getByRole("table", { name: "Tickets" }).getByRole("row").nth(1);
const shown = () => row.or(tab.getByText("No tickets match")).waitFor({ timeout: 120_000 });
const coldTraffic = await traffic(tab, async () => {
  await tab.goto("/tickets");
  await shown();
});
console.log(`inbox view, cold browser cache:  ${coldTraffic}`);
const warmTraffic = await traffic(tab, async () => {
  await tab.reload();
  await shown();
});
console.log(`inbox view, reload (warm cache): ${warmTraffic}`);
try {
  // Open a ticket and let its requests finish, so that only the way back is measured.
  const settled = Promise.all(
    ["/conversations", "/history"].map((part) => tab.waitForResponse((r) => r.url().includes(part))),
  );
  await row.getByRole("link").first().click();
  await settled;
  const inAppTraffic = await traffic(tab, async () => {
    await tab.getByRole("navigation", { name: "Main" }).getByRole("link").first().click();
    await shown();
  });
  console.log(`inbox view, in the app (from a ticket): ${inAppTraffic}`);
} catch (e) {
  const h1 = await tab.getByRole("heading", { level: 1 }).first().textContent().catch(() => "?");
  console.log(`inbox view, in the app: not measured (${e.message.split("\n")[0]}; at ${tab.url()}, h1 "${h1}")`);
}
await fresh.close();

console.log(`api check: ${total}`);
await browser.close();
