import { Link } from "react-router";
import type { Ticket } from "./api";
import { useUser } from "../users/api";
import styles from "./Inbox.module.css";

/** The row's title link; an unread ticket (changed since the agent last opened it) says so in
 * words for screen readers and with a dot on screen (the row is bold) — never by colour alone. */
export function TicketTitleLink({ ticket, id, staff }: { ticket: Ticket; id: string; staff: boolean }) {
  const unread = staff && ticket.unread === true;
  return (
    <Link id={id} to={`/tickets/${ticket.id}`}>
      {unread && (
        <>
          <span className={styles.unreadDot} aria-hidden="true">
            ●
          </span>
          <span className="visually-hidden">Unread: </span>
        </>
      )}
      {ticket.title}
    </Link>
  );
}

/** The customer column (staff): the name, the email address below it (and as its title). */
export function CustomerCell({ customer }: { customer: Ticket["customer"] }) {
  if (!customer) return <span className={styles.secondary}>—</span>;
  return (
    <span title={customer.email}>
      {customer.name}
      <span className={styles.secondary}>{customer.email}</span>
    </span>
  );
}

/** Above the list when it shows one customer's tickets (the customer panel's "view all"). */
export function CustomerFilterNote({ customerId, onClear }: { customerId: string; onClear: () => void }) {
  const customer = useUser(customerId);
  return (
    <p className={styles.customerNote}>
      Tickets of <strong>{customer.data ? `${customer.data.name} <${customer.data.email}>` : "one customer"}</strong>{" "}
      <button type="button" data-variant="secondary" onClick={onClear}>
        All customers
      </button>
    </p>
  );
}
