import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../lib/api/client";
import type { CalendarCreate, PolicyCreate, Recompute } from "./form";

type CalendarUpdate = Partial<CalendarCreate>;
type PolicyUpdate = Partial<PolicyCreate>;

export function useCalendars() {
  return useQuery({ queryKey: ["calendars"], queryFn: () => unwrap(api.GET("/api/v1/calendars")) });
}

export function usePolicies() {
  return useQuery({ queryKey: ["sla-policies"], queryFn: () => unwrap(api.GET("/api/v1/sla-policies")) });
}

function useInvalidate(...keys: string[]) {
  const client = useQueryClient();
  return () => {
    for (const key of keys) void client.invalidateQueries({ queryKey: [key] });
  };
}

export function useSaveCalendar() {
  const invalidate = useInvalidate("calendars");
  return useMutation({
    mutationFn: ({ id, body }: { id: string | null; body: CalendarCreate | CalendarUpdate }) =>
      id
        ? unwrap(api.PATCH("/api/v1/calendars/{calendar_id}", { params: { path: { calendar_id: id } }, body }))
        : unwrap(api.POST("/api/v1/calendars", { body: body as CalendarCreate })),
    onSuccess: invalidate,
  });
}

export function useSeedHolidays() {
  const invalidate = useInvalidate("calendars");
  return useMutation({
    mutationFn: ({ id, country, subdivision, years }: { id: string; country: string; subdivision: string; years: number[] }) =>
      unwrap(
        api.POST("/api/v1/calendars/{calendar_id}/holidays/seed", {
          params: { path: { calendar_id: id } },
          body: { country, years, ...(subdivision ? { subdivision } : {}) },
        }),
      ),
    onSuccess: invalidate,
  });
}

export function useDeleteCalendar() {
  const invalidate = useInvalidate("calendars");
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/v1/calendars/{calendar_id}", { params: { path: { calendar_id: id } } })),
    onSuccess: invalidate,
  });
}

export function useSavePolicy() {
  const invalidate = useInvalidate("sla-policies");
  return useMutation({
    mutationFn: ({ id, body }: { id: string | null; body: PolicyCreate | PolicyUpdate }) =>
      id
        ? unwrap(api.PATCH("/api/v1/sla-policies/{policy_id}", { params: { path: { policy_id: id } }, body }))
        : unwrap(api.POST("/api/v1/sla-policies", { body: body as PolicyCreate })),
    onSuccess: invalidate,
  });
}

/** Set the whole policy order in one request (every policy's id, first tried first). */
export function useReorderPolicies() {
  const invalidate = useInvalidate("sla-policies");
  return useMutation({
    mutationFn: (ids: string[]) => unwrap(api.PUT("/api/v1/sla-policies/order", { body: { ids } })),
    onSettled: invalidate,
  });
}

export function useDeletePolicy() {
  const invalidate = useInvalidate("sla-policies");
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/v1/sla-policies/{policy_id}", { params: { path: { policy_id: id } } })),
    onSuccess: invalidate,
  });
}

export const isFinished = (r: Recompute | undefined) => r?.state === "done" || r?.state === "failed";

/** A recomputation's progress, polled every second until it is done or failed. */
export function useRecompute(id: string | null) {
  return useQuery({
    queryKey: ["sla-recomputes", id],
    enabled: Boolean(id),
    queryFn: () => unwrap(api.GET("/api/v1/sla-policies/recomputes/{recompute_id}", { params: { path: { recompute_id: id ?? "" } } })),
    refetchInterval: (query) => (isFinished(query.state.data) ? false : 1000),
  });
}
