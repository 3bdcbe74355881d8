import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, type components, unwrap } from "../../lib/api/client";
import { type Console, refreshConsole, useConsole } from "../console/api";

export type SavedView = components["schemas"]["ViewRead"];
export type ViewCreate = components["schemas"]["ViewCreate"];
export type ViewUpdate = components["schemas"]["ViewUpdate"];

const selectViews = (data: Console | null): SavedView[] => data?.views ?? [];

/** The signed-in agent's saved views, from the console bootstrap (their own changes read it
 * again). */
export function useViews(enabled = true) {
  return useConsole(selectViews, enabled);
}

export function useCreateView() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ViewCreate) => unwrap(api.POST("/api/v1/views", { body })),
    onSuccess: () => refreshConsole(client),
  });
}

export function useUpdateView() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: ViewUpdate }) =>
      unwrap(api.PATCH("/api/v1/views/{view_id}", { params: { path: { view_id: id } }, body })),
    onSuccess: () => refreshConsole(client),
  });
}

export function useDeleteView() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/v1/views/{view_id}", { params: { path: { view_id: id } } })),
    onSuccess: () => refreshConsole(client),
  });
}

/** Save new positions (one PATCH per view that moves; usually two), then refresh the list once. */
export function useMoveViews() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (moves: { id: string; position: number }[]) => {
      for (const { id, position } of moves) {
        await unwrap(api.PATCH("/api/v1/views/{view_id}", { params: { path: { view_id: id } }, body: { position } }));
      }
    },
    onSettled: () => refreshConsole(client),
  });
}
