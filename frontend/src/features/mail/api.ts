import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type components, unwrap } from "../../lib/api/client";
import { ApiError } from "../../lib/api/problem";
import { type ConnectionOutcome, connectionOutcome, type InboundStatus, type MailboxCreate, type MailboxUpdate } from "./form";

export type InboundEmail = components["schemas"]["InboundEmailRead"];

export function useMailboxes() {
  return useQuery({ queryKey: ["mailboxes"], queryFn: () => unwrap(api.GET("/api/v1/mailboxes")) });
}

export function useCreateMailbox() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: MailboxCreate) => unwrap(api.POST("/api/v1/mailboxes", { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["mailboxes"] }),
  });
}

export function useUpdateMailbox() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: MailboxUpdate }) =>
      unwrap(api.PATCH("/api/v1/mailboxes/{mailbox_id}", { params: { path: { mailbox_id: id } }, body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["mailboxes"] }),
  });
}

/**
 * Test a mailbox's servers. A failed check is an answer, not an error: the
 * `mailbox-connection-failed` problem carries the per-part results, returned like a success.
 */
export function useTestConnection() {
  return useMutation({
    mutationFn: async (id: string): Promise<ConnectionOutcome> => {
      try {
        const body = await unwrap(
          api.POST("/api/v1/mailboxes/{mailbox_id}/test-connection", { params: { path: { mailbox_id: id } } }),
        );
        return { ok: body.smtp.ok && (body.imap?.ok ?? true), imap: body.imap ?? null, smtp: body.smtp };
      } catch (error) {
        const outcome = error instanceof ApiError && error.is("mailbox-connection-failed") ? connectionOutcome(error.body) : null;
        if (outcome) return outcome;
        throw error;
      }
    },
  });
}

export function useInboundEmails(status: InboundStatus | null, cursor: string | null) {
  return useQuery({
    queryKey: ["inbound-emails", status, cursor],
    placeholderData: keepPreviousData,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/inbound-emails", {
          params: { query: { ...(status ? { status } : {}), ...(cursor ? { cursor } : {}), limit: 25 } },
        }),
      ),
  });
}

function useInboundAction(action: "replay" | "discard") {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(
        action === "replay"
          ? api.POST("/api/v1/inbound-emails/{inbound_id}/replay", { params: { path: { inbound_id: id } } })
          : api.POST("/api/v1/inbound-emails/{inbound_id}/discard", { params: { path: { inbound_id: id } } }),
      ),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["inbound-emails"] }),
  });
}

export const useReplayInbound = () => useInboundAction("replay");
export const useDiscardInbound = () => useInboundAction("discard");
