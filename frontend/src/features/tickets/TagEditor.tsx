import { type FormEvent, useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ProblemMessage } from "../../components/ProblemMessage";
import { api, unwrap } from "../../lib/api/client";
import { type TicketDetail, ticketKey } from "./api";
import { useKnownTags } from "../teams/useKnownTags";
import styles from "./Ticket.module.css";

/** Same rule as the API (`TAG_PATTERN`): lower-case, starts with a letter or digit, ≤ 50. */
export const TAG = /^[a-z0-9][a-z0-9_.:-]{0,49}$/;

function useChangeTag(ticketId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ tag, add }: { tag: string; add: boolean }) => {
      const params = { path: { ticket_id: ticketId, tag } };
      return unwrap(
        add
          ? api.PUT("/api/v1/tickets/{ticket_id}/tags/{tag}", { params })
          : api.DELETE("/api/v1/tickets/{ticket_id}/tags/{tag}", { params }),
      );
    },
    onSuccess: (ticket) => {
      client.setQueryData<TicketDetail>(ticketKey(ticketId), (old) => (old ? { ...old, ...ticket } : old));
      void client.invalidateQueries({ queryKey: ["tickets", ticketId, "history"] });
    },
  });
}

/** The ticket's tags as chips (staff): remove one, or add one by typing it. */
export function TagEditor({ ticket, disabled }: { ticket: TicketDetail; disabled: boolean }) {
  const change = useChangeTag(ticket.id);
  const [error, setError] = useState<string | null>(null);
  const tags = ticket.tags ?? [];
  const known = useKnownTags().filter((t) => !tags.includes(t));

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const tag = String(new FormData(form).get("tag") ?? "").trim().toLowerCase();
    if (!TAG.test(tag)) {
      setError("Tags are lower-case letters, digits, and . _ : - (at most 50; start with a letter or digit).");
      return;
    }
    setError(null);
    await change.mutateAsync({ tag, add: true });
    form.reset();
  }

  return (
    <section aria-labelledby="tags-title" className={styles.panel}>
      <h2 id="tags-title">Tags</h2>
      {tags.length === 0 ? (
        <p className={styles.muted}>No tags.</p>
      ) : (
        <ul aria-label="Tags" className={styles.tags}>
          {tags.map((tag) => (
            <li key={tag}>
              {tag}
              {!disabled && (
                <button type="button" data-variant="secondary" aria-label={`Remove tag ${tag}`} onClick={() => change.mutate({ tag, add: false })}>
                  ×
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {!disabled && (
        <form onSubmit={(e) => void submit(e).catch(() => undefined)} className={styles.metadataForm}>
          <label htmlFor="tag-new">Add a tag</label>
          <input id="tag-new" name="tag" list="tag-suggestions" autoComplete="off" required maxLength={50} aria-invalid={error ? true : undefined} aria-describedby={error ? "tag-error" : undefined} />
          <datalist id="tag-suggestions">
            {known.map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
          <button type="submit" disabled={change.isPending}>Add</button>
        </form>
      )}
      {error && <p id="tag-error" role="alert" className={styles.error}>{error}</p>}
      {change.isError && <ProblemMessage error={change.error} />}
    </section>
  );
}
