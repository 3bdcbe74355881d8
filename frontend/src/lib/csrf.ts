// The session's CSRF token comes only with the login response; it is kept for the tab's
// lifetime (and other tabs) in localStorage and sent as X-CSRF-Token on unsafe requests.
const KEY = "helpline.csrf";

export function getCsrfToken(): string | null {
  try {
    return window.localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setCsrfToken(token: string | null): void {
  try {
    if (token) window.localStorage.setItem(KEY, token);
    else window.localStorage.removeItem(KEY);
  } catch {
    // storage disabled: unsafe requests will fail with a readable 403
  }
}

export function isUnsafe(method: string): boolean {
  return !["GET", "HEAD", "OPTIONS"].includes(method.toUpperCase());
}
