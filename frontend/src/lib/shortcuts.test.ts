import { describe, expect, it } from "vitest";
import { shortcutKey } from "./shortcuts";

const base = { ctrlKey: false, metaKey: false, altKey: false, target: null };
const element = (tagName: string, role: string | null = null) =>
  ({ tagName, getAttribute: (name: string) => (name === "role" ? role : null) }) as never;

describe("shortcutKey", () => {
  it("passes plain keys", () => {
    expect(shortcutKey({ ...base, key: "j" })).toBe("j");
    expect(shortcutKey({ ...base, key: "r", target: { tagName: "BUTTON" } as never })).toBe("r");
  });
  it("ignores typing and modified keys", () => {
    for (const tagName of ["INPUT", "textarea", "SELECT"]) {
      expect(shortcutKey({ ...base, key: "j", target: { tagName } as never })).toBeNull();
    }
    expect(shortcutKey({ ...base, key: "j", target: { isContentEditable: true } as never })).toBeNull();
    expect(shortcutKey({ ...base, key: "r", ctrlKey: true })).toBeNull();
    expect(shortcutKey({ ...base, key: "k", metaKey: true })).toBeNull();
  });
  it("leaves Enter and Space to focused links and buttons", () => {
    for (const target of [element("A"), element("BUTTON"), element("DIV", "button"), element("SPAN", "link")]) {
      expect(shortcutKey({ ...base, key: "Enter", target })).toBeNull();
      expect(shortcutKey({ ...base, key: " ", target })).toBeNull();
    }
    expect(shortcutKey({ ...base, key: "Enter", target: element("BODY") })).toBe("Enter");
  });
});
