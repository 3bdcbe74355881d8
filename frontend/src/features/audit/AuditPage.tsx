import { useInfiniteQuery, useQueries } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { EmptyState, Loading } from "../../components/Loading";
import { ProblemMessage } from "../../components/ProblemMessage";
import { api, type components, unwrap } from "../../lib/api/client";
import type { operations } from "../../lib/api/schema";
import { formatDateTime } from "../../lib/format";
import { useDocumentTitle } from "../../lib/title";
import styles from "../users/Admin.module.css";
import { changeLines } from "./changes";
import { AUDIT_FILTERS, auditQuery } from "./filters";

type AuditEvent = components["schemas"]["AuditEventRead"];

/** The users who acted on this page, by id (one request per distinct user, cached). */
function useActors(rows: AuditEvent[]) {
  const ids = [...new Set(rows.flatMap((e) => (e.actor_id ? [e.actor_id] : [])))];
  const results = useQueries({
    queries: ids.map((id) => ({
      queryKey: ["users", id],
      staleTime: 5 * 60_000,
      retry: false,
      queryFn: () => unwrap(api.GET("/api/v1/users/{user_id}", { params: { path: { user_id: id } } })),
    })),
  });
  const names = new Map<string, { name: string; email: string }>();
  results.forEach((r) => {
    if (r.data) names.set(r.data.id, { name: r.data.name, email: r.data.email });
  });
  return names;
}

type Query = NonNullable<operations["listAuditEvents"]["parameters"]["query"]>;

const LABELS: Record<(typeof AUDIT_FILTERS)[number], string> = {
  action: "Actions (comma list)",
  actor_id: "Actor id",
  actor_type: "Actor type",
  entity_type: "Entity type",
  entity_id: "Entity id",
  outcome: "Outcome",
  request_id: "Request id",
  occurred_after: "From (day)",
  occurred_before: "To (day)",
};

const CHOICES: Partial<Record<(typeof AUDIT_FILTERS)[number], string[]>> = {
  actor_type: ["user", "api_key", "system", "anonymous"],
  outcome: ["success", "failure", "denied"],
};

export function AuditPage() {
  const [params, setParams] = useSearchParams();
  const query = auditQuery(params) as Query;
  const events = useInfiniteQuery({
    queryKey: ["audit-events", query],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      unwrap(api.GET("/api/v1/audit-events", { params: { query: { ...query, limit: 50, ...(pageParam ? { cursor: pageParam } : {}) } } })),
    getNextPageParam: (last) => (last.meta.has_more ? last.meta.next_cursor : null),
  });
  const rows: AuditEvent[] = events.data?.pages.flatMap((p) => p.data) ?? [];
  const actors = useActors(rows);
  useDocumentTitle("Audit events");

  function actor(e: AuditEvent) {
    const who = e.actor_id ? actors.get(e.actor_id) : undefined;
    if (who) {
      return (
        <>
          {who.name} <span className={styles.note}>{who.email}</span>
          {e.actor_type === "api_key" && <span className={styles.note}>with an API key</span>}
        </>
      );
    }
    if (e.actor_id) return <span className={styles.mono}>{`${e.actor_type} ${e.actor_id.slice(0, 8)}…`}</span>;
    return e.actor_type === "anonymous" ? "Anonymous" : e.actor_type === "system" ? "System" : e.actor_type;
  }

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const next = new URLSearchParams();
    for (const name of AUDIT_FILTERS) {
      const value = String(data.get(name) ?? "").trim();
      if (value) next.set(name, value);
    }
    setParams(next);
  }

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit events</h1>
      <form onSubmit={submit} key={params.toString()} aria-label="Audit filters">
        <div className={styles.filters}>
          {AUDIT_FILTERS.map((name) => (
            <label key={name}>
              {LABELS[name]}
              {CHOICES[name] ? (
                <select name={name} defaultValue={params.get(name) ?? ""}>
                  <option value="">Any</option>
                  {CHOICES[name]?.map((c) => (
                    <option key={c} value={c}>{c}</option>
                  ))}
                </select>
              ) : (
                <input
                  name={name}
                  type={name.startsWith("occurred") ? "date" : "text"}
                  defaultValue={params.get(name) ?? ""}
                />
              )}
            </label>
          ))}
        </div>
        <div className={styles.row}>
          <button type="submit">Apply filters</button>
          <button type="button" data-variant="secondary" onClick={() => setParams(new URLSearchParams())}>
            Clear
          </button>
        </div>
      </form>
      {events.isPending ? (
        <Loading label="Loading audit events" />
      ) : events.isError ? (
        <ProblemMessage error={events.error} retry={() => void events.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState title="No audit events match" />
      ) : (
        <div className={styles.scroll} role="region" aria-label="Audit events, scrollable" tabIndex={0}>
          <table aria-label="Audit events" className={styles.audit}>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Actor</th>
                <th scope="col">Entity</th>
                <th scope="col">Outcome</th>
                <th scope="col">Changes</th>
                <th scope="col">Request</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => {
                const lines = changeLines(e.action, e.changes as Record<string, unknown> | null);
                return (
                  <tr key={e.id}>
                    <td>{formatDateTime(e.occurred_at)}</td>
                    <td>{e.action}</td>
                    <td>{actor(e)}</td>
                    <td>
                      {e.entity_type === "ticket" && e.entity_id ? (
                        <Link to={`/tickets/${e.entity_id}`}>ticket {e.entity_id.slice(0, 8)}…</Link>
                      ) : (
                        <>
                          {e.entity_type ?? ""} {e.entity_id ? `${e.entity_id.slice(0, 8)}…` : ""}
                        </>
                      )}
                    </td>
                    <td>{e.outcome}</td>
                    <td className={styles.changes}>
                      {lines.length > 0 && (
                        <ul className={styles.changeList}>
                          {lines.map((line) => (
                            <li key={line.key}>
                              <span className={styles.changeKey}>{line.key}</span>: {line.text}
                            </li>
                          ))}
                        </ul>
                      )}
                    </td>
                    <td className={styles.mono}>{e.request_id ?? ""}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {events.hasNextPage && (
        <button type="button" data-variant="secondary" onClick={() => void events.fetchNextPage()}>
          Load more
        </button>
      )}
    </section>
  );
}
