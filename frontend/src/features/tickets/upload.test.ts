import { describe, expect, it } from "vitest";
import { percent, uploadError } from "./upload";

describe("upload helpers", () => {
  it("computes progress", () => {
    expect(percent(0, 0)).toBe(0);
    expect(percent(50, 200)).toBe(25);
    expect(percent(300, 200)).toBe(100);
  });
  it("turns a 415 problem into a readable error", () => {
    const body = JSON.stringify({
      type: "/problems/unsupported-media-type",
      title: "Unsupported media type",
      status: 415,
      detail: "Files of type application/x-msdownload are not allowed.",
      instance: "/api/v1/attachments",
      request_id: "r-1",
    });
    const err = uploadError(415, body, null);
    expect(err.status).toBe(415);
    expect(err.detail).toMatch(/not allowed/);
    expect(err.requestId).toBe("r-1");
    expect(uploadError(413, "too big", "h-2").requestId).toBe("h-2");
  });
});
