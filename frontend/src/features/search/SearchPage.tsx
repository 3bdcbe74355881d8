import { type FormEvent, useRef } from "react";
import { Link, useSearchParams } from "react-router";
import { EmptyState, Loading } from "../../components/Loading";
import { ProblemMessage } from "../../components/ProblemMessage";
import { useMe } from "../auth/api";
import { formatDateTime, humanize } from "../../lib/format";
import { useDocumentTitle } from "../../lib/title";
import { type SearchHit, type SearchScope, useSearch } from "./api";
import { excerptRuns } from "./excerpt";
import styles from "./Search.module.css";

const SCOPES: { value: SearchScope; label: string }[] = [
  { value: "all", label: "Tickets and messages" },
  { value: "messages", label: "Messages only" },
  { value: "tickets", label: "Titles and descriptions only" },
];

function isScope(value: string | null): value is SearchScope {
  return SCOPES.some((s) => s.value === value);
}

function Hit({ hit }: { hit: SearchHit }) {
  return (
    <li className={styles.hit}>
      <Link to={`/tickets/${hit.ticket_id}`} className={styles.title}>
        #{hit.number} {hit.title}
      </Link>
      <span className={styles.meta}>
        {humanize(hit.status)} · {hit.message_id ? `message of ${formatDateTime(hit.message_at)}` : "title or description"}
      </span>
      {hit.internal && <span className={styles.internal}>internal note</span>}
      <p className={styles.excerpt}>
        {excerptRuns(hit.excerpt).map((run, i) => (run.match ? <mark key={i}>{run.text}</mark> : <span key={i}>{run.text}</span>))}
      </p>
    </li>
  );
}

/** Ranked search over tickets and their conversations (`GET /api/v1/tickets/search`). Every
 * excerpt arrives as runs of plain text: nothing from a message is rendered as markup. */
export function SearchPage() {
  const [params, setParams] = useSearchParams();
  const q = (params.get("q") ?? "").trim();
  const rawScope = params.get("scope");
  const scope: SearchScope = isScope(rawScope) ? rawScope : "all";
  const staff = useMe().data?.role !== "customer";
  const results = useSearch(q, scope);
  const input = useRef<HTMLInputElement>(null);
  useDocumentTitle(q ? `Search: ${q}` : "Search");

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const next = new URLSearchParams();
    const words = String(data.get("q") ?? "").trim();
    if (words) next.set("q", words);
    const chosen = String(data.get("scope") ?? "all");
    if (chosen !== "all") next.set("scope", chosen);
    setParams(next);
  }

  const hits = results.data?.data ?? [];
  const meta = results.data?.meta;
  return (
    <section aria-labelledby="search-title">
      <h1 id="search-title" tabIndex={-1}>
        Search
      </h1>
      <form role="search" className={styles.form} onSubmit={submit} key={params.toString()}>
        <label>
          Words to find
          <input
            ref={input}
            name="q"
            type="search"
            defaultValue={q}
            maxLength={200}
            autoFocus
            placeholder={staff ? 'e.g. toner smoke, "paper jam", #1234' : "e.g. invoice, #1234"}
          />
        </label>
        <label>
          Look in
          <select name="scope" defaultValue={scope}>
            {SCOPES.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Search</button>
      </form>
      {!q ? (
        <p className={styles.meta}>
          Finds words in titles, descriptions and {staff ? "every message, internal notes included" : "the conversation"}; best match first.
        </p>
      ) : results.isPending ? (
        <Loading label="Searching" />
      ) : results.isError ? (
        <ProblemMessage error={results.error} retry={() => void results.refetch()} />
      ) : hits.length === 0 ? (
        <EmptyState title="Nothing found">Try other words, or fewer of them.</EmptyState>
      ) : (
        <>
          <p role="status">
            {meta?.found === 1 ? "1 ticket" : `${meta?.found ?? hits.length} tickets`} found
            {meta && meta.found > hits.length ? `; the best ${hits.length} are shown` : ""}
            {meta?.capped ? " (many matches: a narrower search ranks better)" : ""}
          </p>
          <ol className={styles.hits} aria-label="Search results">
            {hits.map((hit) => (
              <Hit key={hit.ticket_id} hit={hit} />
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
