/** Where to go after signing in: only same-app paths (never another origin, never //host). */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) {
    return "/";
  }
  if (next.startsWith("/login")) return "/";
  return next;
}
