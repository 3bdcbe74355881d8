import { NavLink, Outlet, useNavigate } from "react-router";
import { isStaff, useMe, useSignOut } from "../features/auth/api";
import { ConnectionBanner } from "./ConnectionBanner";
import styles from "./Layout.module.css";

export function Layout() {
  const me = useMe().data;
  const signOut = useSignOut();
  const navigate = useNavigate();
  const staff = isStaff(me);
  return (
    <div className={styles.shell}>
      <a className={styles.skip} href="#main">
        Skip to content
      </a>
      <header className={styles.header}>
        <span className={styles.brand}>Helpline</span>
        <nav aria-label="Main">
          <NavLink to="/tickets">{staff ? "Inbox" : "My tickets"}</NavLink>
          <NavLink to="/tickets/new">New ticket</NavLink>
          {staff && <NavLink to="/keys">API keys</NavLink>}
          {me?.role === "admin" && <NavLink to="/admin/users">Users</NavLink>}
          {me?.role === "admin" && <NavLink to="/admin/audit">Audit</NavLink>}
        </nav>
        <span className={styles.who}>
          {me?.name} <span className={styles.role}>({me?.role})</span>
        </span>
        <button
          type="button"
          onClick={async () => {
            await signOut();
            navigate("/login", { replace: true });
          }}
        >
          Sign out
        </button>
      </header>
      <ConnectionBanner />
      <main id="main" className={styles.main} tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
