import { useEffect, useState } from "react";
import type { SetURLSearchParams } from "react-router";
import type { InboxFilters, Sort } from "../inbox/filters";
import { useViews } from "./api";
import { paramsForView } from "./mapping";

/**
 * Open the inbox with the agent's default view when it is loaded without filters (once per
 * visit: "Clear filters" afterwards shows the plain inbox). False while that is being decided,
 * so that the list is not first fetched for filters about to be replaced.
 */
export function useDefaultView(
  staff: boolean,
  meId: string | null,
  params: URLSearchParams,
  setParams: SetURLSearchParams,
  defaults: InboxFilters,
  sorts: readonly Sort[],
): boolean {
  const plain = params.toString() === "";
  const [decided, setDecided] = useState(!plain);
  const views = useViews(staff);
  const settled = !staff || views.isSuccess || views.isError;
  const fallback = views.data?.find((v) => v.is_default) ?? null;

  useEffect(() => {
    if (decided || !settled) return;
    if (plain && fallback) setParams(paramsForView(fallback.query, meId, defaults, sorts), { replace: true });
    setDecided(true);
  }, [decided, settled, plain, fallback, meId, defaults, sorts, setParams]);

  return decided || !plain || !staff || views.isError;
}
