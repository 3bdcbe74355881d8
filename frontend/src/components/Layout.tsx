import { useEffect, useRef } from "react";
import { NavLink, Outlet, useLocation, useNavigate, useNavigationType } from "react-router";
import { isStaff, useMe, useSignOut } from "../features/auth/api";
import { useLiveUpdates } from "../features/live/useLiveUpdates";
import { ConnectionBanner } from "./ConnectionBanner";
import styles from "./Layout.module.css";

export function Layout() {
  const me = useMe().data;
  const signOut = useSignOut();
  const navigate = useNavigate();
  const staff = isStaff(me);
  // other people's changes (and, for staff, presence and unread markers) live
  useLiveUpdates(Boolean(me), staff, me?.id ?? null);
  const { pathname } = useLocation();
  const navigationType = useNavigationType();
  const first = useRef(true);

  // A new page takes the focus to its heading (else <main>), as a page load would put a screen
  // reader at the top: never left on <body> or on a link that is gone.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      // A page the browser loaded (or reloaded) starts at the top, skip link first; arriving
      // from the sign-in page is an in-app navigation like any other.
      if (navigationType === "POP") return;
    }
    const main = document.getElementById("main");
    let tries = 0;
    const focus = () => {
      const active = document.activeElement;
      if (active && active !== document.body && main?.contains(active)) return; // the user moved on
      const heading = main?.querySelector<HTMLElement>("h1");
      if (heading) {
        if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
        heading.focus();
      } else if (tries++ < 20) {
        timer = window.setTimeout(focus, 50); // the page is still loading its data
        return;
      } else {
        main?.focus();
      }
    };
    let timer = window.setTimeout(focus, 0);
    return () => window.clearTimeout(timer);
  }, [pathname]);

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
          <NavLink to="/search">Search</NavLink>
          {staff && <NavLink to="/reports">Reports</NavLink>}
          {staff && <NavLink to="/keys">API keys</NavLink>}
          {staff && <NavLink to="/macros">Macros</NavLink>}
          {me?.role === "admin" && <NavLink to="/admin/users">Users</NavLink>}
          {me?.role === "admin" && <NavLink to="/admin/audit">Audit</NavLink>}
          {me?.role === "admin" && <NavLink to="/admin/mailboxes">Mailboxes</NavLink>}
          {me?.role === "admin" && <NavLink to="/admin/quarantine">Quarantine</NavLink>}
          {me?.role === "admin" && <NavLink to="/admin/teams">Teams</NavLink>}
          {me?.role === "admin" && <NavLink to="/admin/rules">Rules</NavLink>}
          {me?.role === "admin" && <NavLink to="/admin/calendars">Calendars</NavLink>}
          {me?.role === "admin" && <NavLink to="/admin/sla-policies">SLA policies</NavLink>}
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
