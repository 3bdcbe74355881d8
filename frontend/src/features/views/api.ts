import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type components, unwrap } from "../../lib/api/client";

export type SavedView = components["schemas"]["ViewRead"];
export type ViewCreate = components["schemas"]["ViewCreate"];
export type ViewUpdate = components["schemas"]["ViewUpdate"];

export const viewsKey = ["views"] as const;

/** The signed-in agent's saved views: one small request, kept for the session (only their own
 * changes change it, and those update the cache). */
export function useViews(enabled = true) {
  return useQuery({
    queryKey: viewsKey,
    enabled,
    staleTime: 5 * 60_000,
    queryFn: () => unwrap(api.GET("/api/v1/views")),
  });
}

export function useCreateView() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ViewCreate) => unwrap(api.POST("/api/v1/views", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: viewsKey }),
  });
}

export function useUpdateView() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: ViewUpdate }) =>
      unwrap(api.PATCH("/api/v1/views/{view_id}", { params: { path: { view_id: id } }, body })),
    onSuccess: () => client.invalidateQueries({ queryKey: viewsKey }),
  });
}

export function useDeleteView() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/v1/views/{view_id}", { params: { path: { view_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: viewsKey }),
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
    onSettled: () => client.invalidateQueries({ queryKey: viewsKey }),
  });
}
