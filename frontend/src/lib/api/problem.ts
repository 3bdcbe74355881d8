import type { components } from "./schema";

export type Problem = components["schemas"]["Problem"];

/** An API failure: the RFC 9457 problem the server sent, or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly requestId: string | null;
  readonly errors: Problem["errors"];
  readonly body: Record<string, unknown>;

  constructor(status: number, body: unknown, requestId: string | null = null) {
    const problem = isProblem(body) ? body : null;
    const detail = problem?.detail ?? describeStatus(status);
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.type = problem?.type ?? (status === 0 ? "/problems/network" : "/problems/unknown");
    this.title = problem?.title ?? (status === 0 ? "Network error" : `HTTP ${status}`);
    this.detail = detail;
    this.requestId = problem?.request_id ?? requestId;
    this.errors = problem?.errors ?? null;
    this.body = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  }

  /** True for the server's problem slug, e.g. `is("precondition-failed")`. */
  is(slug: string): boolean {
    return this.type === `/problems/${slug}`;
  }
}

export function isProblem(body: unknown): body is Problem {
  return (
    typeof body === "object" &&
    body !== null &&
    typeof (body as { type?: unknown }).type === "string" &&
    typeof (body as { status?: unknown }).status === "number"
  );
}

export function describeStatus(status: number): string {
  if (status === 0) return "The server could not be reached. Check your connection and retry.";
  if (status >= 500) return "The server had a problem. Please retry in a moment.";
  return `The request failed (HTTP ${status}).`;
}

/** Per-field messages of a validation problem, keyed by the last part of `loc`. */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError) || !error.errors) return {};
  const out: Record<string, string> = {};
  for (const item of error.errors) {
    const field = String(item.loc[item.loc.length - 1] ?? "");
    if (field && !(field in out)) out[field] = item.msg;
  }
  return out;
}
