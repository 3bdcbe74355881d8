import { describe, expect, it, vi } from "vitest";

vi.mock("../../lib/api/client", () => ({ api: {}, unwrap: vi.fn() }));
const { keyLabel, keyState, replacedKeys, timeUntil } = await import("./api");

const key = {
  id: "k",
  user_id: "u",
  name: "ci",
  prefix: "hl_abc",
  scopes: ["tickets:read"],
  rate_limit_per_minute: null,
  expires_at: null,
  revoked_at: null,
  last_used_at: null,
  created_at: "2026-01-01T00:00:00Z",
  lineage_id: "k",
  rotated_from_id: null,
};

describe("api keys", () => {
  it("derives the state of a key", () => {
    const now = new Date("2026-06-01T00:00:00Z");
    expect(keyState(key, now)).toBe("active");
    expect(keyState({ ...key, expires_at: "2026-05-01T00:00:00Z" }, now)).toBe("expired");
    expect(keyState({ ...key, expires_at: "2026-07-01T00:00:00Z" }, now)).toBe("active");
    expect(keyState({ ...key, revoked_at: "2026-02-01T00:00:00Z" }, now)).toBe("revoked");
  });

  it("says how long until a time", () => {
    const now = new Date("2026-06-01T00:00:00Z");
    expect(timeUntil("2026-06-01T00:00:30Z", now)).toBe("in 1 minute");
    expect(timeUntil("2026-06-01T23:00:00Z", now)).toBe("in 23 hours");
    expect(timeUntil("2026-06-05T00:00:00Z", now)).toBe("in 4 days");
    expect(timeUntil("2026-05-01T00:00:00Z", now)).toBe("now");
  });
  it("tells a rotated key from its replacement", () => {
    const now = new Date("2026-06-01T00:00:00Z");
    const old = { ...key, id: "old", prefix: "hl_old", expires_at: "2026-06-02T00:00:00Z" };
    const fresh = { ...key, id: "new", prefix: "hl_new", rotated_from_id: "old", lineage_id: "old" };
    expect([...replacedKeys([old, fresh], now)]).toEqual(["old"]);
    expect([...replacedKeys([{ ...old, revoked_at: "2026-05-31T00:00:00Z" }, fresh], now)]).toEqual([]);
    expect(keyLabel(old)).toBe("ci (hl_old…)");
  });
});
