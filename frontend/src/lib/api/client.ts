import createClient, { type Middleware } from "openapi-fetch";
import { reportConnection, reportHealthy } from "../connection";
import { getCsrfToken, isUnsafe } from "../csrf";
import { ApiError, isProblem } from "./problem";
import type { paths } from "./schema";

export type { components, paths } from "./schema";

/** Listeners for "the session has ended" (any 401 outside of the login call). */
const unauthorizedListeners = new Set<() => void>();
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

async function isCsrfProblem(response: Response): Promise<boolean> {
  try {
    const body: unknown = await response.clone().json();
    return isProblem(body) && body.type === "/problems/csrf-token-invalid";
  } catch {
    return false;
  }
}

const session: Middleware = {
  onRequest({ request }) {
    const token = getCsrfToken();
    if (token && isUnsafe(request.method)) request.headers.set("X-CSRF-Token", token);
    return request;
  },
  async onResponse({ request, response }) {
    if (response.status >= 500) {
      reportConnection({
        state: "server-error",
        detail: `The server answered ${response.status}. Your last action may not have been saved.`,
      });
    } else {
      reportHealthy();
    }
    if (response.status === 401 && !new URL(request.url).pathname.endsWith("/auth/login")) {
      for (const listener of unauthorizedListeners) listener();
    } else if (response.status === 403 && (await isCsrfProblem(response))) {
      // The session lives but this tab lost its CSRF token (storage cleared): sign in again.
      for (const listener of unauthorizedListeners) listener();
    }
    return response;
  },
  onError() {
    reportConnection({ state: "offline", detail: "The server could not be reached." });
    return new ApiError(0, null);
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: "same-origin" });
api.use(session);

type Result<T> = { data?: T; error?: unknown; response: Response };

/** The data of a call, or an ApiError carrying the problem (request id included). */
export async function unwrap<T>(call: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await call;
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(0, null);
  }
  const { data, error, response } = result;
  if (!response.ok) {
    throw new ApiError(response.status, error, response.headers.get("X-Request-ID"));
  }
  return data as T;
}
