import { useEffect, useRef } from "react";

/** The key a shortcut listens for, or null when the user is typing or holds a modifier. */
export function shortcutKey(event: {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  target: EventTarget | null;
}): string | null {
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  const target = event.target as { tagName?: string; isContentEditable?: boolean } | null;
  const tag = target?.tagName?.toUpperCase();
  if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target?.isContentEditable) {
    return null;
  }
  return event.key;
}

/** Single-key shortcuts for a page (j/k, r, /…), ignored while typing in a field. */
export function useShortcuts(handlers: Record<string, () => void>): void {
  const ref = useRef(handlers);
  ref.current = handlers;
  useEffect(() => {
    function onKey(event: KeyboardEvent) {
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
