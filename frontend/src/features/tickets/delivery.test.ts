import { describe, expect, it } from "vitest";
import { channelLabel, deliveryLabel } from "./delivery";

describe("channelLabel", () => {
  it("names mail and API messages, not web ones", () => {
    expect(channelLabel("email")).toBe("by email");
    expect(channelLabel("api")).toBe("via API");
    expect(channelLabel("web")).toBeNull();
  });
});

describe("deliveryLabel", () => {
  it("says whether and how a reply was mailed", () => {
    expect(deliveryLabel(null)).toBeNull();
    expect(deliveryLabel({ status: "queued", message_id: "m@x", error: null })).toBe("Email queued");
    expect(deliveryLabel({ status: "sent", message_id: "m@x", error: null })).toBe("Emailed");
    expect(deliveryLabel({ status: "failed", message_id: "m@x", error: "suppressed: bounced" })).toBe(
      "Email failed: suppressed: bounced",
    );
    expect(deliveryLabel({ status: "bounced", message_id: "m@x", error: null })).toBe("Email bounced");
  });
});
