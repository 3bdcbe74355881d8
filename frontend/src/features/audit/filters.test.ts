import { describe, expect, it } from "vitest";
import { auditQuery } from "./filters";

describe("auditQuery", () => {
  it("keeps known filters and turns days into a UTC range", () => {
    const params = new URLSearchParams(
      "action=ticket.updated&occurred_after=2026-11-01&occurred_before=2026-11-30&bogus=1&entity_type=",
    );
    expect(auditQuery(params)).toEqual({
      action: "ticket.updated",
      occurred_after: "2026-11-01T00:00:00Z",
      occurred_before: "2026-11-30T23:59:59.999Z",
    });
  });
  it("drops malformed dates", () => {
    expect(auditQuery(new URLSearchParams("occurred_after=yesterday"))).toEqual({});
  });
});
