import { useEffect, useRef } from "react";

// Enter and Space belong to whatever has focus (a link, a button, the skip link): a shortcut
// never takes them from an interactive element.
const ACTIVATION_KEYS = new Set(["Enter", " "]);
const INTERACTIVE = new Set(["A", "BUTTON", "SUMMARY", "OPTION"]);

/** The key a shortcut listens for, or null when the user is typing or holds a modifier. */
export function shortcutKey(event: {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  target: EventTarget | null;
}): string | null {
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  const target = event.target as {
    tagName?: string;
    isContentEditable?: boolean;
    getAttribute?: (name: string) => string | null;
  } | null;
  const tag = target?.tagName?.toUpperCase();
  if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target?.isContentEditable) {
    return null;
  }
  if (ACTIVATION_KEYS.has(event.key)) {
    const role = target?.getAttribute?.("role");
    if ((tag && INTERACTIVE.has(tag)) || role === "button" || role === "link") return null;
  }
  return event.key;
}

/** Single-key shortcuts for a page (j/k, r, /…), ignored while typing in a field. Only a key
 * that has a handler is taken from the browser (preventDefault); every other key acts as usual. */
export function useShortcuts(handlers: Record<string, () => void>): void {
  const ref = useRef(handlers);
  ref.current = handlers;
  useEffect(() => {
    function onKey(event: KeyboardEvent) {
      if (event.defaultPrevented) return;
      const key = shortcutKey(event);
      const handler = key ? ref.current[key] : undefined;
      if (handler) {
        event.preventDefault();
        handler();
      }
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
