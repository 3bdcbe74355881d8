// The pages outside the first chunk, each its own dynamic import (one chunk per page). The inbox
// preloads the ticket page when the browser is idle: opening a ticket then waits for no chunk.
export const pages = {
  ticket: () => import("../features/tickets/TicketPage"),
  newTicket: () => import("../features/tickets/NewTicketPage"),
  keys: () => import("../features/keys/KeysPage"),
  users: () => import("../features/users/UsersPage"),
  audit: () => import("../features/audit/AuditPage"),
  mailboxes: () => import("../features/mail/MailboxesPage"),
  quarantine: () => import("../features/mail/QuarantinePage"),
  search: () => import("../features/search/SearchPage"),
  reports: () => import("../features/reports/ReportsPage"),
  teams: () => import("../features/teams/TeamsPage"),
  macros: () => import("../features/macros/MacrosPage"),
  rules: () => import("../features/rules/RulesPage"),
  calendars: () => import("../features/sla/CalendarsPage"),
  slaPolicies: () => import("../features/sla/PoliciesPage"),
};

/** Load a page's chunk when the browser has nothing else to do. */
export function preload(load: () => Promise<unknown>): () => void {
  const start = () => void load().catch(() => undefined); // a failed preload retries on use
  if (typeof window.requestIdleCallback === "function") {
    const id = window.requestIdleCallback(start, { timeout: 3000 });
    return () => window.cancelIdleCallback(id);
  }
  const id = window.setTimeout(start, 500);
  return () => window.clearTimeout(id);
}
