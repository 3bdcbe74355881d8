import { useEffect } from "react";

export const APP_NAME = "Helpline";

/** "Inbox · Helpline": the page's own name first, as tabs and screen readers show it. */
export function documentTitle(page: string | null | undefined): string {
  const name = page?.trim();
  return name ? `${name} · ${APP_NAME}` : APP_NAME;
}

/** Set the document title while the page is shown (restored when it goes). */
export function useDocumentTitle(page: string | null | undefined): void {
  useEffect(() => {
    const previous = document.title;
    document.title = documentTitle(page);
    return () => {
      document.title = previous;
    };
  }, [page]);
}
