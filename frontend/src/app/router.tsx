import { lazy, Suspense } from "react";
import { Navigate, createBrowserRouter } from "react-router";
import { Layout } from "../components/Layout";
import { EmptyState, Loading } from "../components/Loading";
import { useMe } from "../features/auth/api";
import { LoginPage } from "../features/auth/LoginPage";
import { RequireAuth } from "../features/auth/RequireAuth";
import { InboxPage } from "../features/inbox/InboxPage";
import { NewTicketPage } from "../features/tickets/NewTicketPage";
import { TicketPage } from "../features/tickets/TicketPage";
import { useDocumentTitle } from "../lib/title";

// Pages most people never open load on first use, in their own chunks: the inbox and the ticket
// page (what agents and customers live in) do not wait for them.
const AuditPage = lazy(() => import("../features/audit/AuditPage").then((m) => ({ default: m.AuditPage })));
const KeysPage = lazy(() => import("../features/keys/KeysPage").then((m) => ({ default: m.KeysPage })));
const UsersPage = lazy(() => import("../features/users/UsersPage").then((m) => ({ default: m.UsersPage })));

function Deferred({ children }: { children: React.ReactNode }) {
  return <Suspense fallback={<Loading label="Loading the page" />}>{children}</Suspense>;
}

function AdminOnly({ children }: { children: React.ReactNode }) {
  const me = useMe().data;
  if (me?.role !== "admin") return <AdminsOnly />;
  return <>{children}</>;
}

function AdminsOnly() {
  useDocumentTitle("Admins only");
  return <EmptyState title="Admins only">This page needs the admin role.</EmptyState>;
}

function NotFound() {
  useDocumentTitle("Page not found");
  return <EmptyState title="Page not found">Check the address, or go back to the tickets.</EmptyState>;
}

export const router = createBrowserRouter([
  { path: "/login", element: <LoginPage /> },
  {
    element: <RequireAuth />,
    children: [
      {
        element: <Layout />,
        children: [
          { index: true, element: <Navigate to="/tickets" replace /> },
          { path: "tickets", element: <InboxPage /> },
          { path: "tickets/new", element: <NewTicketPage /> },
          { path: "tickets/:ticketId", element: <TicketPage /> },
          { path: "keys", element: <Deferred><KeysPage /></Deferred> },
          { path: "admin/users", element: <AdminOnly><Deferred><UsersPage /></Deferred></AdminOnly> },
          { path: "admin/audit", element: <AdminOnly><Deferred><AuditPage /></Deferred></AdminOnly> },
          { path: "*", element: <NotFound /> },
        ],
      },
    ],
  },
]);
