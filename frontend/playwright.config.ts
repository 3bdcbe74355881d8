import { defineConfig } from "@playwright/test";

// Runs against a real Helpline (scripts/test starts one on a fresh database and sets E2E_URL).
// Playwright cannot download browsers here: it drives Debian's Chromium.
const baseURL = process.env.E2E_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  testDir: "e2e",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000, // a guard against hangs, not a speed check: the machine is shared
  expect: { timeout: 7_000 },
  reporter: [["list"]],
  globalSetup: "./e2e/global-setup.ts",
  use: {
    baseURL,
    headless: true,
    trace: "off",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.HELPLINE_CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
});
