import { describe, expect, it } from "vitest";
import { ApiError, fieldErrors, isProblem } from "./problem";

const problem = {
  type: "/problems/validation-failed",
  title: "Validation failed",
  status: 422,
  detail: "Invalid input: body.title.",
  instance: "/api/v1/tickets",
  request_id: "req-1",
  errors: [{ loc: ["body", "title"], msg: "String should have at least 1 character", type: "x" }],
};

describe("ApiError", () => {
  it("carries the problem's type, detail and request id", () => {
    const err = new ApiError(422, problem);
    expect(err.is("validation-failed")).toBe(true);
    expect(err.is("not-found")).toBe(false);
    expect(err.detail).toBe("Invalid input: body.title.");
    expect(err.requestId).toBe("req-1");
    expect(fieldErrors(err)).toEqual({ title: "String should have at least 1 character" });
  });

  it("describes non-problem failures and keeps the header request id", () => {
    const err = new ApiError(502, "<html>bad gateway</html>", "hdr-9");
    expect(err.type).toBe("/problems/unknown");
    expect(err.detail).toMatch(/server had a problem/);
    expect(err.requestId).toBe("hdr-9");
    expect(new ApiError(0, null).title).toBe("Network error");
    expect(fieldErrors(new Error("x"))).toEqual({});
  });

  it("recognises problem documents only", () => {
    expect(isProblem(problem)).toBe(true);
    expect(isProblem({ type: "x" })).toBe(false);
    expect(isProblem("text")).toBe(false);
  });
});
