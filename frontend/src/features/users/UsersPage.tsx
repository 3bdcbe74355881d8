import { type FormEvent, useState } from "react";
import { useSearchParams } from "react-router";
import { EmptyState, Loading } from "../../components/Loading";
import { Dialog } from "../../components/Dialog";
import { ProblemMessage } from "../../components/ProblemMessage";
import { formatDateTime, humanize } from "../../lib/format";
import { useDocumentTitle } from "../../lib/title";
import { useMe } from "../auth/api";
import { type Role, useCreateUser, useDeactivateUser, useUpdateUser, useUserList } from "./api";
import styles from "./Admin.module.css";

const ROLES: Role[] = ["admin", "agent", "customer"];

export function UsersPage() {
  const me = useMe().data;
  const [params, setParams] = useSearchParams();
  const role = ROLES.find((r) => r === params.get("role")) ?? null;
  const email = params.get("email") ?? "";
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const users = useUserList({ role, email }, cursor);
  const create = useCreateUser();
  const update = useUpdateUser();
  const deactivate = useDeactivateUser();
  const [notice, setNotice] = useState<string | null>(null);
  const [roleChange, setRoleChange] = useState<{ id: string; email: string; from: Role; to: Role } | null>(null);
  const [deactivating, setDeactivating] = useState<{ id: string; email: string } | null>(null);
  useDocumentTitle("Users");

  function filter(change: Record<string, string>) {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(change)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    setCursors([null]);
    setParams(next);
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const password = String(data.get("password") ?? "");
    const user = await create.mutateAsync({
      email: String(data.get("email") ?? ""),
      name: String(data.get("name") ?? ""),
      role: String(data.get("role")) as Role,
      ...(password ? { password } : {}),
    });
    setNotice(`Created ${user.role} ${user.email}.`);
    form.reset();
  }

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      <form className={styles.card} onSubmit={(e) => void submit(e).catch(() => undefined)} aria-labelledby="create-user-title">
        <h2 id="create-user-title">Create a user</h2>
        <div className={styles.grid}>
          <label htmlFor="user-email">Email</label>
          <input id="user-email" name="email" type="email" required />
          <label htmlFor="user-name">Name</label>
          <input id="user-name" name="name" required maxLength={200} />
          <label htmlFor="user-role">Role</label>
          <select id="user-role" name="role" defaultValue="customer">
            {ROLES.map((r) => (
              <option key={r} value={r}>{humanize(r)}</option>
            ))}
          </select>
          <label htmlFor="user-password">Password (optional: enables sign-in)</label>
          <input id="user-password" name="password" type="password" autoComplete="new-password" />
        </div>
        {create.isError && <ProblemMessage error={create.error} />}
        {notice && <p role="status">{notice}</p>}
        <div>
          <button type="submit" disabled={create.isPending}>Create user</button>
        </div>
      </form>
      <div className={styles.row}>
        <label>
          Role{" "}
          <select value={role ?? ""} onChange={(e) => filter({ role: e.target.value })}>
            <option value="">Any</option>
            {ROLES.map((r) => (
              <option key={r} value={r}>{humanize(r)}</option>
            ))}
          </select>
        </label>
        <form
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            filter({ email: String(new FormData(e.currentTarget).get("email") ?? "").trim() });
          }}
        >
          <label htmlFor="users-email">Exact email</label>{" "}
          <input id="users-email" name="email" type="search" defaultValue={email} />{" "}
          <button type="submit">Find</button>
        </form>
      </div>
      {roleChange && (
        <Dialog
          title={`Change the role of ${roleChange.email}?`}
          confirm={`Make ${humanize(roleChange.to).toLowerCase()}`}
          onCancel={() => setRoleChange(null)}
          onConfirm={() => {
            update.mutate({ id: roleChange.id, body: { role: roleChange.to } });
            setRoleChange(null);
          }}
        >
          <p>
            From {humanize(roleChange.from)} to {humanize(roleChange.to)}. Their keys and sessions get the new
            role&apos;s permissions on their next request.
          </p>
        </Dialog>
      )}
      {deactivating && (
        <Dialog
          title={`Deactivate ${deactivating.email}?`}
          confirm="Deactivate"
          danger
          onCancel={() => setDeactivating(null)}
          onConfirm={() => {
            deactivate.mutate(deactivating.id);
            setDeactivating(null);
          }}
        >
          <p>Their sessions end and their API keys are revoked at once. Reactivating does not revive the keys.</p>
        </Dialog>
      )}
      {update.isError && <ProblemMessage error={update.error} />}
      {deactivate.isError && <ProblemMessage error={deactivate.error} />}
      {users.isPending ? (
        <Loading label="Loading users" />
      ) : users.isError ? (
        <ProblemMessage error={users.error} retry={() => void users.refetch()} />
      ) : users.data.data.length === 0 ? (
        <EmptyState title="No users match" />
      ) : (
        <div className={styles.scroll} role="region" aria-label="Users, scrollable" tabIndex={0}>
        <table aria-label="Users">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Active</th>
              <th scope="col">Created</th>
              <th scope="col"><span className="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {users.data.data.map((u) => (
              <tr key={u.id}>
                <td>{u.name}</td>
                <td>{u.email}</td>
                <td>
                  <select
                    aria-label={`Role of ${u.email}`}
                    aria-describedby={u.id === me?.id ? "own-role-note" : undefined}
                    value={u.role}
                    disabled={!u.is_active || update.isPending || u.id === me?.id}
                    onChange={(e) => setRoleChange({ id: u.id, email: u.email, from: u.role, to: e.target.value as Role })}
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>{humanize(r)}</option>
                    ))}
                  </select>
                  {u.id === me?.id && (
                    <small id="own-role-note" className={styles.note}>
                      Your own role is changed by another admin.
                    </small>
                  )}
                </td>
                <td>{u.is_active ? "Yes" : "No"}</td>
                <td>{formatDateTime(u.created_at)}</td>
                <td>
                  {u.is_active && u.id !== me?.id && (
                    <button
                      type="button"
                      data-variant="danger"
                      aria-label={`Deactivate ${u.email}`}
                      onClick={() => setDeactivating({ id: u.id, email: u.email })}
                    >
                      Deactivate
                    </button>
                  )}
                  {!u.is_active && (
                    <button type="button" data-variant="secondary" aria-label={`Reactivate ${u.email}`} onClick={() => update.mutate({ id: u.id, body: { is_active: true } })}>
                      Reactivate
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
      <div className={styles.row}>
        {cursors.length > 1 && (
          <button type="button" data-variant="secondary" onClick={() => setCursors((c) => c.slice(0, -1))}>
            Previous page
          </button>
        )}
        {users.data?.meta.has_more && (
          <button type="button" data-variant="secondary" onClick={() => setCursors((c) => [...c, users.data?.meta.next_cursor ?? null])}>
            Next page
          </button>
        )}
      </div>
    </section>
  );
}
