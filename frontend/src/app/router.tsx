import { Navigate, createBrowserRouter } from "react-router";
import { Layout } from "../components/Layout";
import { EmptyState } from "../components/Loading";
import { useMe } from "../features/auth/api";
import { LoginPage } from "../features/auth/LoginPage";
import { RequireAuth } from "../features/auth/RequireAuth";
import { InboxPage } from "../features/inbox/InboxPage";
import { NewTicketPage } from "../features/tickets/NewTicketPage";
import { TicketPage } from "../features/tickets/TicketPage";
import { AuditPage } from "../features/audit/AuditPage";
import { KeysPage } from "../features/keys/KeysPage";
import { UsersPage } from "../features/users/UsersPage";

function AdminOnly({ children }: { children: React.ReactNode }) {
  const me = useMe().data;
  if (me?.role !== "admin") {
    return <EmptyState title="Admins only">This page needs the admin role.</EmptyState>;
  }
  return <>{children}</>;
}

function NotFound() {
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
          { path: "keys", element: <KeysPage /> },
          { path: "admin/users", element: <AdminOnly><UsersPage /></AdminOnly> },
          { path: "admin/audit", element: <AdminOnly><AuditPage /></AdminOnly> },
          { path: "*", element: <NotFound /> },
        ],
      },
    ],
  },
]);
