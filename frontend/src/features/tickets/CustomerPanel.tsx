import { Link } from "react-router";
import { humanize } from "../../lib/format";
import { useTicketList } from "../inbox/api";
import inbox from "../inbox/Inbox.module.css";
import { useUser } from "../users/api";
import { otherTickets } from "./customer";
import styles from "./Ticket.module.css";

/** How many of the customer's other tickets the panel lists (the link shows them all). */
export const OTHER_TICKETS = 10;

/** Staff: who the ticket is for, and their other tickets, most recently updated first. */
export function CustomerPanel({ customerId, ticketId }: { customerId: string; ticketId: string }) {
  const customer = useUser(customerId);
  // One more than shown: this ticket is among them.
  const list = useTicketList({ customer_id: customerId, sort: "-updated_at", limit: OTHER_TICKETS + 1 });
  const others = otherTickets(list.data?.pages[0]?.data, ticketId, OTHER_TICKETS);
  const name = customer.data?.name ?? "this customer";
  return (
    <section className={styles.panel} aria-labelledby="customer-panel-title">
      <h2 id="customer-panel-title">Customer</h2>
      {customer.isError ? (
        <p className={styles.muted}>The customer could not be loaded.</p>
      ) : (
        <p>
          <strong>{customer.data?.name ?? "…"}</strong>
          {customer.data && (
            <>
              <br />
              <a href={`mailto:${customer.data.email}`}>{customer.data.email}</a>
            </>
          )}
        </p>
      )}
      <h3 id="customer-tickets-title">Other tickets</h3>
      {list.isPending ? (
        <p className={styles.muted}>Loading…</p>
      ) : list.isError ? (
        <p className={styles.muted}>Their tickets could not be loaded.</p>
      ) : others.length === 0 ? (
        <p className={styles.muted}>No other tickets.</p>
      ) : (
        <ul className={styles.customerTickets} aria-labelledby="customer-tickets-title">
          {others.map((t) => (
            <li key={t.id}>
              <Link to={`/tickets/${t.id}`}>
                {t.unread && <span className="visually-hidden">Unread: </span>}
                {t.title}
              </Link>{" "}
              <span className={inbox.badge} data-status={t.status}>
                {humanize(t.status)}
              </span>
            </li>
          ))}
        </ul>
      )}
      <p>
        <Link to={`/tickets?customer=${customerId}&status=all`}>View all tickets of {name}</Link>
      </p>
    </section>
  );
}
