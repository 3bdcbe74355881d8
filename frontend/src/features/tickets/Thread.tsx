import { EmptyState, Loading } from "../../components/Loading";
import { ProblemMessage } from "../../components/ProblemMessage";
import { formatBytes, formatDateTime } from "../../lib/format";
import { type Message, useMessages } from "./api";
import { channelLabel, deliveryLabel } from "./delivery";
import styles from "./Ticket.module.css";

interface Descriptor {
  id: string;
  filename: string;
  size: number;
}

function descriptors(message: Message): Descriptor[] {
  return (message.attachments as unknown[]).filter(
    (a): a is Descriptor => typeof a === "object" && a !== null && "id" in a && "filename" in a,
  );
}

/** The conversation, oldest first; internal notes are marked (the API never sends them to customers). */
export function Thread({ ticketId, author }: { ticketId: string; author: (m: Message) => string }) {
  const messages = useMessages(ticketId);
  if (messages.isPending) return <Loading label="Loading conversation" />;
  if (messages.isError) return <ProblemMessage error={messages.error} retry={() => void messages.refetch()} />;
  const all = messages.data.pages.flatMap((p) => p.data);
  if (all.length === 0) return <EmptyState title="No messages yet" />;
  return (
    <>
      <ol className={styles.thread} aria-label="Conversation">
        {all.map((m) => (
          <li key={m.id}>
            <article
              className={m.is_internal ? styles.note : styles.message}
              aria-label={m.is_internal ? `Internal note from ${author(m)}` : `Message from ${author(m)}`}
            >
              <header className={styles.messageHeader}>
                <strong>{author(m)}</strong>
                {m.is_internal && <span className={styles.noteBadge}>Internal note</span>}
                {channelLabel(m.channel) && <span className={styles.muted}>{channelLabel(m.channel)}</span>}
                <time dateTime={m.timestamp}>{formatDateTime(m.timestamp)}</time>
              </header>
              <p className={styles.pre}>{m.message}</p>
              {deliveryLabel(m.delivery) && (
                <p className={styles.muted} role="status">
                  {deliveryLabel(m.delivery)}
                </p>
              )}
              {descriptors(m).length > 0 && (
                <ul className={styles.files} aria-label="Attachments">
                  {descriptors(m).map((a) => (
                    <li key={a.id}>
                      <a href={`/api/v1/attachments/${a.id}/content`} download={a.filename}>
                        {a.filename}
                      </a>{" "}
                      <span className={styles.muted}>({formatBytes(a.size)})</span>
                    </li>
                  ))}
                </ul>
              )}
            </article>
          </li>
        ))}
      </ol>
      {messages.hasNextPage && (
        <button type="button" data-variant="secondary" onClick={() => void messages.fetchNextPage()}>
          Load more messages
        </button>
      )}
    </>
  );
}
