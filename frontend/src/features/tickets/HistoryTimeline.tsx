import { Loading } from "../../components/Loading";
import { ProblemMessage } from "../../components/ProblemMessage";
import { formatDateTime } from "../../lib/format";
import { useHistory } from "./api";
import { describeChange } from "./history";
import styles from "./Ticket.module.css";

export function HistoryTimeline({ ticketId, name }: { ticketId: string; name: (id: string | null) => string }) {
  const history = useHistory(ticketId);
  return (
    <section aria-labelledby="history-title" className={styles.panel}>
      <h2 id="history-title">History</h2>
      {history.isPending ? (
        <Loading label="Loading history" />
      ) : history.isError ? (
        <ProblemMessage error={history.error} retry={() => void history.refetch()} />
      ) : (
        <ol className={styles.timeline}>
          {history.data.pages
            .flatMap((p) => p.data)
            .map((entry) => (
              <li key={entry.id}>
                <time dateTime={entry.timestamp}>{formatDateTime(entry.timestamp)}</time>{" "}
                <strong>{entry.changed_by ? name(entry.changed_by) : "System"}</strong>: {describeChange(entry, name)}
              </li>
            ))}
        </ol>
      )}
      {history.hasNextPage && (
        <button type="button" data-variant="secondary" onClick={() => void history.fetchNextPage()}>
          Load more history
        </button>
      )}
    </section>
  );
}
