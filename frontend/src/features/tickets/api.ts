import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type components, unwrap } from "../../lib/api/client";
import { ApiError } from "../../lib/api/problem";
import { ifMatch } from "./conflict";

export type TicketDetail = components["schemas"]["TicketDetail"];
export type TicketUpdate = components["schemas"]["TicketUpdate"];
export type Message = components["schemas"]["MessageRead"];
export type HistoryEntry = components["schemas"]["HistoryEntryRead"];

export const ticketKey = (id: string) => ["tickets", id] as const;

export function useTicket(id: string) {
  return useQuery({
    queryKey: ticketKey(id),
    queryFn: () => unwrap(api.GET("/api/v1/tickets/{ticket_id}", { params: { path: { ticket_id: id } } })),
  });
}

export function useMessages(id: string) {
  return useInfiniteQuery({
    queryKey: ["tickets", id, "messages"],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/tickets/{ticket_id}/conversations", {
          params: { path: { ticket_id: id }, query: { limit: 100, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      ),
    getNextPageParam: (last) => (last.meta.has_more ? last.meta.next_cursor : null),
  });
}

export function useHistory(id: string) {
  return useInfiniteQuery({
    queryKey: ["tickets", id, "history"],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/tickets/{ticket_id}/history", {
          params: { path: { ticket_id: id }, query: { limit: 100, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      ),
    getNextPageParam: (last) => (last.meta.has_more ? last.meta.next_cursor : null),
  });
}

/** PATCH with If-Match of the version the user saw; a stale version comes back as a 412 error. */
export function useUpdateTicket(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ version, body }: { version: number; body: TicketUpdate }) =>
      unwrap(
        api.PATCH("/api/v1/tickets/{ticket_id}", {
          params: { path: { ticket_id: id }, header: { "if-match": ifMatch(version) } },
          body,
        }),
      ),
    onSuccess: (ticket) => {
      client.setQueryData<TicketDetail>(ticketKey(id), (old) => (old ? { ...old, ...ticket } : old));
      void client.invalidateQueries({ queryKey: ["tickets", id, "history"] });
      void client.invalidateQueries({ queryKey: ["tickets", "list"] });
      void client.invalidateQueries({ queryKey: ["tickets", "count"] });
    },
  });
}

export function useAddMessage(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: components["schemas"]["MessageCreate"]) =>
      unwrap(api.POST("/api/v1/tickets/{ticket_id}/conversations", { params: { path: { ticket_id: id } }, body })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["tickets", id] });
      void client.invalidateQueries({ queryKey: ["tickets", "list"] });
    },
  });
}

export function useSetMetadata(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ key, value }: { key: string; value: unknown }) =>
      unwrap(
        api.PUT("/api/v1/tickets/{ticket_id}/metadata/{key}", {
          params: { path: { ticket_id: id, key } },
          body: { value },
        }),
      ),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["tickets", id] }),
  });
}

export function useRemoveMetadata(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (key: string) =>
      unwrap(api.DELETE("/api/v1/tickets/{ticket_id}/metadata/{key}", { params: { path: { ticket_id: id, key } } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["tickets", id] }),
  });
}

export function useCreateTicket() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: components["schemas"]["TicketCreate"]) => unwrap(api.POST("/api/v1/tickets", { body })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["tickets", "list"] });
      void client.invalidateQueries({ queryKey: ["tickets", "count"] });
    },
  });
}

export type Draft = components["schemas"]["DraftRead"];

/** The caller's saved draft on the ticket (null: none), read fresh on every visit: it may have
 * been written in another browser. */
export function useDraft(id: string, enabled = true) {
  return useQuery({
    queryKey: ["tickets", id, "draft"],
    enabled,
    staleTime: 0,
    gcTime: 0,
    retry: false,
    refetchOnWindowFocus: false,
    queryFn: async (): Promise<Draft | null> => {
      try {
        return await unwrap(api.GET("/api/v1/tickets/{ticket_id}/draft", { params: { path: { ticket_id: id } } }));
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return null;
        throw err;
      }
    },
  });
}

export function saveDraft(id: string, body: string, isInternal: boolean) {
  return unwrap(
    api.PUT("/api/v1/tickets/{ticket_id}/draft", { params: { path: { ticket_id: id } }, body: { body, is_internal: isInternal } }),
  );
}

export function discardDraft(id: string) {
  return unwrap(api.DELETE("/api/v1/tickets/{ticket_id}/draft", { params: { path: { ticket_id: id } } }));
}
