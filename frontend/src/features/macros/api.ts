import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type components, unwrap } from "../../lib/api/client";
import { type TicketDetail, ticketKey } from "../tickets/api";

export type Macro = components["schemas"]["MacroRead"];
export type MacroApplied = components["schemas"]["MacroApplied"];

/** Your personal macros and the shared ones. */
export function useMacros(enabled = true) {
  return useQuery({
    queryKey: ["macros"],
    enabled,
    staleTime: 60_000,
    queryFn: () => unwrap(api.GET("/api/v1/macros")),
  });
}

export function useSaveMacro() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string | null; body: components["schemas"]["MacroCreate"] }) =>
      id
        ? unwrap(
            api.PATCH("/api/v1/macros/{macro_id}", {
              params: { path: { macro_id: id } },
              body: { name: body.name, body: body.body ?? "", actions: body.actions ?? [] },
            }),
          )
        : unwrap(api.POST("/api/v1/macros", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["macros"] }),
  });
}

export function useDeleteMacro() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/v1/macros/{macro_id}", { params: { path: { macro_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["macros"] }),
  });
}

/** Apply a macro to a ticket in one step: its actions are applied now (as the agent), and the
 * rendered reply comes back for the composer (nothing is sent). */
export function useApplyMacro(ticketId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (macroId: string) =>
      unwrap(
        api.POST("/api/v1/macros/{macro_id}/apply", {
          params: { path: { macro_id: macroId } },
          body: { ticket_id: ticketId, apply: true },
        }),
      ),
    onSuccess: (result) => {
      if (result.ticket) {
        const ticket = result.ticket;
        client.setQueryData<TicketDetail>(ticketKey(ticketId), (old) => (old ? { ...old, ...ticket } : old));
      }
      void client.invalidateQueries({ queryKey: ticketKey(ticketId) });
      void client.invalidateQueries({ queryKey: ["macros"] });
      void client.invalidateQueries({ queryKey: ["tickets", "list"] });
    },
  });
}
