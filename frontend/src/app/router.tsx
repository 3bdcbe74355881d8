import { Navigate, createBrowserRouter } from "react-router";
import { Layout } from "../components/Layout";
import { EmptyState, Loading } from "../components/Loading";
import { isStaff, useMe } from "../features/auth/api";
import { LoginPage } from "../features/auth/LoginPage";
import { RequireAuth } from "../features/auth/RequireAuth";
import { InboxPage } from "../features/inbox/InboxPage";
import { useDocumentTitle } from "../lib/title";
import { pages } from "./pages";

function AdminOnly({ children }: { children: React.ReactNode }) {
  const me = useMe().data;
  if (me?.role !== "admin") return <AdminsOnly />;
  return <>{children}</>;
}

function StaffOnly({ children }: { children: React.ReactNode }) {
  const me = useMe().data;
  if (!isStaff(me)) return <StaffOnlyPage />;
  return <>{children}</>;
}

function StaffOnlyPage() {
  useDocumentTitle("Staff only");
  return <EmptyState title="Staff only">Reports are for agents and admins.</EmptyState>;
}

function AdminsOnly() {
  useDocumentTitle("Admins only");
  return <EmptyState title="Admins only">This page needs the admin role.</EmptyState>;
}

function NotFound() {
  useDocumentTitle("Page not found");
  return <EmptyState title="Page not found">Check the address, or go back to the tickets.</EmptyState>;
}

// The inbox and the sign-in page are in the first chunk (a lazy sign-in route would let
// RequireAuth's own redirect overtake the "session expired" one while its chunk loads); every other page is a route `lazy`:
// its chunk loads on first use, before the router shows it (no half-rendered page) — the admin
// pages most people never open cost them nothing.
export const router = createBrowserRouter([
  { path: "/login", element: <LoginPage /> },
  {
    element: <RequireAuth />,
    HydrateFallback: () => <Loading label="Loading the page" />,
    children: [
      {
        element: <Layout />,
        children: [
          { index: true, element: <Navigate to="/tickets" replace /> },
          { path: "tickets", element: <InboxPage /> },
          { path: "tickets/new", lazy: () => pages.newTicket().then((m) => ({ Component: m.NewTicketPage })) },
          { path: "tickets/:ticketId", lazy: () => pages.ticket().then((m) => ({ Component: m.TicketPage })) },
          { path: "search", lazy: () => pages.search().then((m) => ({ Component: m.SearchPage })) },
          {
            path: "reports",
            lazy: () => pages.reports().then(({ ReportsPage }) => ({ Component: () => <StaffOnly><ReportsPage /></StaffOnly> })),
          },
          { path: "keys", lazy: () => pages.keys().then((m) => ({ Component: m.KeysPage })) },
          {
            path: "admin/users",
            lazy: () => pages.users().then(({ UsersPage }) => ({ Component: () => <AdminOnly><UsersPage /></AdminOnly> })),
          },
          {
            path: "admin/audit",
            lazy: () => pages.audit().then(({ AuditPage }) => ({ Component: () => <AdminOnly><AuditPage /></AdminOnly> })),
          },
          {
            path: "admin/mailboxes",
            lazy: () => pages.mailboxes().then(({ MailboxesPage }) => ({ Component: () => <AdminOnly><MailboxesPage /></AdminOnly> })),
          },
          {
            path: "admin/quarantine",
            lazy: () => pages.quarantine().then(({ QuarantinePage }) => ({ Component: () => <AdminOnly><QuarantinePage /></AdminOnly> })),
          },
          { path: "macros", lazy: () => pages.macros().then((m) => ({ Component: m.MacrosPage })) },
          {
            path: "admin/rules",
            lazy: () => pages.rules().then(({ RulesPage }) => ({ Component: () => <AdminOnly><RulesPage /></AdminOnly> })),
          },
          {
            path: "admin/teams",
            lazy: () => pages.teams().then(({ TeamsPage }) => ({ Component: () => <AdminOnly><TeamsPage /></AdminOnly> })),
          },
          {
            path: "admin/calendars",
            lazy: () => pages.calendars().then(({ CalendarsPage }) => ({ Component: () => <AdminOnly><CalendarsPage /></AdminOnly> })),
          },
          {
            path: "admin/sla-policies",
            lazy: () => pages.slaPolicies().then(({ PoliciesPage }) => ({ Component: () => <AdminOnly><PoliciesPage /></AdminOnly> })),
          },
          { path: "*", element: <NotFound /> },
        ],
      },
    ],
  },
]);
