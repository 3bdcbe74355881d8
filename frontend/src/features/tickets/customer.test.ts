import { describe, expect, it } from "vitest";
import { otherTickets } from "./customer";

describe("the customer panel's other tickets", () => {
  const list = ["a", "b", "c", "d"].map((id) => ({ id }));

  it("leaves out the ticket on screen and keeps the order", () => {
    expect(otherTickets(list, "b", 10).map((t) => t.id)).toEqual(["a", "c", "d"]);
  });

  it("shows at most max, whether or not the current one was among them", () => {
    expect(otherTickets(list, "zz", 3).map((t) => t.id)).toEqual(["a", "b", "c"]);
    expect(otherTickets(list, "a", 3).map((t) => t.id)).toEqual(["b", "c", "d"]);
    expect(otherTickets(undefined, "a", 3)).toEqual([]);
  });
});
