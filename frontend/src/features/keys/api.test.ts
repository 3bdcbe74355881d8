import { describe, expect, it, vi } from "vitest";

vi.mock("../../lib/api/client", () => ({ api: {}, unwrap: vi.fn() }));
const { keyState } = await import("./api");

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
});
