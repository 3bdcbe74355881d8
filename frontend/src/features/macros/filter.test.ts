import { describe, expect, it } from "vitest";
import { filterMacros, insertReply, placeholdersIn } from "./filter";

const m = (name: string, usage_count = 0, body = "") => ({ name, body, usage_count });

describe("macro picker filter", () => {
  const macros = [m("Refund issued", 5), m("Password reset link", 1, "a new link"), m("Reset MFA", 9), m("Close: spam")];

  it("keeps every macro for an empty query, most used first", () => {
    expect(filterMacros(macros, "").map((x) => x.name)).toEqual(["Reset MFA", "Refund issued", "Password reset link", "Close: spam"]);
  });

  it("ranks names starting with the query, then names containing it, then reply text", () => {
    expect(filterMacros(macros, "reset").map((x) => x.name)).toEqual(["Reset MFA", "Password reset link"]);
    expect(filterMacros(macros, "link").map((x) => x.name)).toEqual(["Password reset link"]);
    expect(filterMacros(macros, "new link").map((x) => x.name)).toEqual(["Password reset link"]);
    expect(filterMacros(macros, "nothing")).toEqual([]);
  });
});

describe("composer text", () => {
  it("puts the reply alone, or after what was typed", () => {
    expect(insertReply("", "Hi")).toBe("Hi");
    expect(insertReply("Thanks.  \n", "Hi")).toBe("Thanks.\n\nHi");
    expect(insertReply("Kept", "  ")).toBe("Kept");
  });

  it("lists the placeholders a template uses", () => {
    expect(placeholdersIn("Hi {{ customer.name }}, #{{ticket.number}} {{ customer.name | upper }}")).toEqual(["customer.name", "ticket.number"]);
  });
});
