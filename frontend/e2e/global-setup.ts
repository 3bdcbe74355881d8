import { expect, request } from "@playwright/test";
import { BASE, PASSWORD } from "./helpers";

/** Fail fast with a clear message when the server or the demo users are not there. */
export default async function globalSetup() {
  expect(PASSWORD, "E2E_PASSWORD is not set (scripts/test sets it)").not.toBe("");
  const api = await request.newContext({ baseURL: BASE });
  const ready = await api.get("/health/ready");
  expect(ready.status(), `no Helpline at ${BASE}`).toBe(200);
  const index = await api.get("/");
  expect(index.headers()["content-type"]).toContain("text/html");
  expect(await index.text(), "frontend/dist is not built").toContain('<div id="root">');
  await api.dispose();
}
