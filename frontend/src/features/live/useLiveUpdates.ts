import { useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";

/** The live stream applied to the query caches (see ./stream.ts). Its code is a chunk of its own,
 * loaded after the first paint: the page shows what it fetched, then follows changes. */
export function useLiveUpdates(enabled: boolean, presence = false, me: string | null = null): void {
  const client = useQueryClient();
  useEffect(() => {
    if (!enabled) return;
    let stop: (() => void) | null = null;
    let cancelled = false;
    import("./stream")
      .then(({ startLiveUpdates }) => {
        if (!cancelled) stop = startLiveUpdates(client, presence, me);
      })
      .catch(() => undefined); // no live updates until the next page load; the pages still work
    return () => {
      cancelled = true;
      stop?.();
    };
  }, [enabled, presence, me, client]);
}
