import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { Dialog } from "../../components/Dialog";
import { EmptyState, Loading } from "../../components/Loading";
import { ProblemMessage } from "../../components/ProblemMessage";
import { formatBytes, formatDateTime, humanize } from "../../lib/format";
import { useDocumentTitle } from "../../lib/title";
import { type InboundEmail, useDiscardInbound, useInboundEmails, useMailboxes, useReplayInbound } from "./api";
import { INBOUND_STATUSES, statusFilter } from "./form";
import styles from "../users/Admin.module.css";

function label(row: InboundEmail): string {
  return `mail from ${row.sender ?? "an unknown sender"} received ${formatDateTime(row.received_at)}`;
}

export function QuarantinePage() {
  const [params, setParams] = useSearchParams();
  const status = statusFilter(params);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const inbound = useInboundEmails(status, cursor);
  const mailboxes = useMailboxes();
  const replay = useReplayInbound();
  const discard = useDiscardInbound();
  const [discarding, setDiscarding] = useState<InboundEmail | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  useDocumentTitle("Mail quarantine");
  const address = new Map((mailboxes.data ?? []).map((m) => [m.id, m.address]));

  return (
    <section aria-labelledby="quarantine-title">
      <h1 id="quarantine-title">Mail quarantine</h1>
      <p>
        Inbound mail that could not become a ticket or message, with the reason. Fix the cause (for example allow unknown senders on
        the <Link to="/admin/mailboxes">mailbox</Link>), then replay it; or discard it (it stays stored for the record).
      </p>
      <div className={styles.row}>
        <label>
          Status{" "}
          <select
            value={status ?? "any"}
            onChange={(e) => {
              setCursors([null]);
              setNotice(null);
              setParams(e.target.value === "quarantined" ? {} : { status: e.target.value });
            }}
          >
            {INBOUND_STATUSES.map((s) => (
              <option key={s} value={s}>{humanize(s)}</option>
            ))}
            <option value="any">Any</option>
          </select>
        </label>
      </div>
      <div role="status">{notice}</div>
      {replay.isError && <ProblemMessage error={replay.error} />}
      {discard.isError && <ProblemMessage error={discard.error} />}
      {inbound.isPending ? (
        <Loading label="Loading inbound mail" />
      ) : inbound.isError ? (
        <ProblemMessage error={inbound.error} retry={() => void inbound.refetch()} />
      ) : inbound.data.data.length === 0 ? (
        <EmptyState title={status === "quarantined" ? "Nothing in the quarantine" : "No inbound mail matches"} />
      ) : (
        <div className={styles.scroll} role="region" aria-label="Inbound mail, scrollable" tabIndex={0}>
          <table aria-label="Inbound mail">
            <thead>
              <tr>
                <th scope="col">Received</th>
                <th scope="col">Mailbox</th>
                <th scope="col">From</th>
                <th scope="col">Status</th>
                <th scope="col">Reason</th>
                <th scope="col">Size</th>
                <th scope="col">Ticket</th>
                <th scope="col"><span className="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {inbound.data.data.map((row) => (
                <tr key={row.id}>
                  <td>{formatDateTime(row.received_at)}</td>
                  <td>{address.get(row.mailbox_id) ?? row.mailbox_id}</td>
                  <td>{row.sender ?? "—"}</td>
                  <td>{humanize(row.status)}</td>
                  <td className={styles.changes}>{row.reason ?? "—"}</td>
                  <td>{formatBytes(row.size)}</td>
                  <td>{row.ticket_id ? <Link to={`/tickets/${row.ticket_id}`}>Open ticket</Link> : "—"}</td>
                  <td className={styles.row}>
                    {row.status === "quarantined" && (
                      <>
                        <button
                          type="button"
                          data-variant="secondary"
                          aria-label={`Replay ${label(row)}`}
                          disabled={replay.isPending}
                          onClick={() =>
                            void replay
                              .mutateAsync(row.id)
                              .then(() => setNotice(`Replayed the ${label(row)}: the worker processes it again.`))
                              .catch(() => undefined)
                          }
                        >
                          Replay
                        </button>
                        <button type="button" data-variant="danger" aria-label={`Discard ${label(row)}`} onClick={() => setDiscarding(row)}>
                          Discard
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {discarding && (
        <Dialog
          title={`Discard the ${label(discarding)}?`}
          confirm="Discard mail"
          danger
          onCancel={() => setDiscarding(null)}
          onConfirm={() => {
            const row = discarding;
            setDiscarding(null);
            void discard
              .mutateAsync(row.id)
              .then(() => setNotice(`Discarded the ${label(row)}.`))
              .catch(() => undefined);
          }}
        >
          <p>It will never be processed. It stays stored, with its reason, for the record.</p>
        </Dialog>
      )}
      <div className={styles.row}>
        {cursors.length > 1 && (
          <button type="button" data-variant="secondary" onClick={() => setCursors((c) => c.slice(0, -1))}>
            Previous page
          </button>
        )}
        {inbound.data?.meta.has_more && (
          <button type="button" data-variant="secondary" onClick={() => setCursors((c) => [...c, inbound.data?.meta.next_cursor ?? null])}>
            Next page
          </button>
        )}
      </div>
    </section>
  );
}
