import { useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { Loading } from "../../components/Loading";
import { ProblemMessage } from "../../components/ProblemMessage";
import { type Shortcut, ShortcutsHelp } from "../../components/ShortcutsHelp";
import { formatDateTime } from "../../lib/format";
import { useShortcuts } from "../../lib/shortcuts";
import { useDocumentTitle } from "../../lib/title";
import { isStaff, useMe } from "../auth/api";
import { describePresence, othersOn, useNow, usePresence, usePresenceReporter } from "../live/presence";
import { teamName, useTeams } from "../teams/api";
import { nameOf, useStaff, useUser } from "../users/api";
import { type Message, useTicket } from "./api";
import { useMarkRead, useMarkUnread } from "./reads";
import { Composer } from "./Composer";
import { CustomerPanel } from "./CustomerPanel";
import { HistoryTimeline } from "./HistoryTimeline";
import { MetadataEditor } from "./MetadataEditor";
import { SlaBadge } from "./SlaBadge";
import { TagEditor } from "./TagEditor";
import { Thread } from "./Thread";
import { TicketFields } from "./TicketFields";
import styles from "./Ticket.module.css";

const SHORTCUTS: Shortcut[] = [
  { keys: ["r"], what: "Write a reply" },
  { keys: ["u"], what: "Back to the list" },
  { keys: ["m"], what: "Insert a macro (staff)" },
  { keys: ["?"], what: "This list" },
];

export function TicketPage() {
  const { ticketId = "" } = useParams();
  const me = useMe().data ?? null;
  const staff = isStaff(me);
  const ticket = useTicket(ticketId);
  const people = useStaff(staff);
  const teams = useTeams(staff);
  const customer = useUser(ticket.data?.customer_id, staff);
  const reply = useRef<HTMLTextAreaElement>(null);
  const navigate = useNavigate();
  const [help, setHelp] = useState(false);
  const [typing, setTyping] = useState(false);
  const presence = usePresence(staff);
  const now = useNow();
  usePresenceReporter(ticketId, typing ? "replying" : "viewing", staff && ticket.isSuccess);
  // Staff: the version on screen is read (again whenever a newer one is shown).
  useMarkRead(ticketId, ticket.data?.version, staff && ticket.isSuccess);
  const markUnread = useMarkUnread(ticketId);
  useDocumentTitle(ticket.data ? ticket.data.title : ticket.isError ? "Ticket not found" : "Ticket");

  useShortcuts({
    r: () => reply.current?.focus(),
    u: () => navigate("/tickets"),
    "?": () => setHelp(true),
  });

  if (ticket.isPending) return <Loading label="Loading ticket" />;
  if (ticket.isError) {
    return (
      <>
        <Link to="/tickets">Back to tickets</Link>
        <ProblemMessage error={ticket.error} retry={() => void ticket.refetch()} />
      </>
    );
  }
  const t = ticket.data;
  const name = (id: string | null): string => {
    if (!id) return "System";
    if (id === me?.id) return staff ? `${me.name} (you)` : "You";
    if (id === t.customer_id) return customer.data?.name ?? "Customer";
    return staff ? nameOf(people.data, id) : "Support";
  };
  const author = (m: Message) => (m.sender_type === "system" ? "System" : name(m.sender_id ?? null));
  const closed = t.status === "closed";
  const here = staff ? othersOn(presence.data, t.id, me?.id, now) : [];

  return (
    <article aria-labelledby="ticket-title" className={styles.page}>
      <p className={styles.backRow}>
        <Link to="/tickets">← Back to tickets</Link>
        {staff && (
          <button
            type="button"
            data-variant="secondary"
            disabled={markUnread.isPending}
            onClick={() => markUnread.mutate(undefined, { onSuccess: () => navigate("/tickets") })}
          >
            Mark as unread
          </button>
        )}
      </p>
      <div className={styles.columns}>
        <div className={styles.mainColumn}>
          <TicketFields ticket={t} staff={staff} people={people.data} teams={teams.data} />
          <p role="status" aria-live="polite" className={styles.presence}>
            {here.length > 0 ? describePresence(here, (id) => nameOf(people.data, id)) : ""}
          </p>
          <section aria-labelledby="thread-title">
            <h2 id="thread-title">Conversation</h2>
            <Thread ticketId={t.id} author={author} />
          </section>
          {closed ? (
            <p className={styles.muted}>Closed tickets take no new messages.</p>
          ) : (
            <Composer
              ref={reply}
              ticketId={t.id}
              staff={staff}
              disabled={closed}
              onTyping={setTyping}
              othersName={(id) => name(id)}
              names={{ user: (id) => nameOf(people.data, id), team: (id) => teamName(teams.data, id) ?? "No team" }}
              me={me?.id}
            />
          )}
          <p className={styles.hint}>
            Keys: <kbd>r</kbd> reply, <kbd>u</kbd> back to the list{staff && <>, <kbd>m</kbd> insert a macro</>}.{" "}
            <button type="button" data-variant="secondary" onClick={() => setHelp(true)}>
              Keyboard shortcuts (?)
            </button>
          </p>
          {help && <ShortcutsHelp shortcuts={SHORTCUTS} onClose={() => setHelp(false)} />}
        </div>
        <aside className={styles.side} aria-label="Ticket details">
          <section className={styles.panel} aria-labelledby="details-title">
            <h2 id="details-title">Details</h2>
            <dl className={styles.metadata}>
              {staff && t.sla && (
                <div>
                  <dt>SLA</dt>
                  <dd>
                    <SlaBadge sla={t.sla} now={now} /> {t.sla.policy_name}
                  </dd>
                </div>
              )}
              {staff && (
                <div>
                  <dt>Customer</dt>
                  <dd>{customer.data ? `${customer.data.name} <${customer.data.email}>` : "…"}</dd>
                </div>
              )}
              <div>
                <dt>Created</dt>
                <dd>{formatDateTime(t.created_at)}</dd>
              </div>
              <div>
                <dt>Updated</dt>
                <dd>{formatDateTime(t.updated_at)}</dd>
              </div>
            </dl>
          </section>
          {staff && <CustomerPanel customerId={t.customer_id} ticketId={t.id} />}
          {staff && <TagEditor ticket={t} disabled={closed} />}
          {staff && <MetadataEditor ticket={t} disabled={closed} />}
          <HistoryTimeline ticketId={t.id} name={name} />
        </aside>
      </div>
    </article>
  );
}
