import { type FormEvent, Suspense, lazy, useEffect, useRef, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { pages, preload } from "../../app/pages";
import { EmptyState, Loading } from "../../components/Loading";
import type { Shortcut } from "../../components/ShortcutsHelp";
import { ProblemMessage } from "../../components/ProblemMessage";
import { cappedCount, formatDateTime, humanize } from "../../lib/format";
import { useShortcuts } from "../../lib/shortcuts";
import { useDocumentTitle } from "../../lib/title";
import { isStaff, useMe } from "../auth/api";
import { SlaBadge } from "../tickets/SlaBadge";
import { describePresence, othersOn, useNow, usePresence } from "../live/presence";
import { nameOf, useStaff } from "../users/api";
import { EMPTY_SELECTION, extendTo, headerState, keepVisible, selectedInOrder, toggle, toggleAll } from "../bulk/selection";
import { TagChips } from "../teams/TagChips";
import { teamName, teamsOf, useTeams } from "../teams/api";
import { useKnownTags } from "../teams/useKnownTags";
import { ViewsMenu } from "../views/ViewsMenu";
import { useDefaultView } from "../views/useDefaultView";
import { useStatusCounts, useTicketList } from "./api";
import { CustomerCell, CustomerFilterNote, TicketTitleLink } from "./InboxColumns";
import {
  AGENT_DEFAULTS,
  CUSTOMER_SORTS,
  DEFAULT_FILTERS,
  type InboxFilters,
  PRIORITIES,
  SORTS,
  STATUSES,
  filtersToParams,
  moveSelection,
  parseFilters,
  toApiQuery,
} from "./filters";
import styles from "./Inbox.module.css";

const SHORTCUTS: Shortcut[] = [
  { keys: ["j", "k"], what: "Next / previous ticket" },
  { keys: ["o", "Enter"], what: "Open the selected ticket" },
  { keys: ["x"], what: "Select the ticket for a bulk change" },
  { keys: ["/"], what: "Search" },
  { keys: ["c"], what: "New ticket" },
  { keys: ["?"], what: "This list" },
];

// The bulk bar is its own chunk, loaded when the first ticket is selected.
const ShortcutsHelp = lazy(() => import("../../components/ShortcutsHelp").then((m) => ({ default: m.ShortcutsHelp })));
const BulkBar = lazy(() => import("../bulk/BulkBar").then((m) => ({ default: m.BulkBar })));

const SORT_LABELS: Record<(typeof SORTS)[number], string> = {
  "-updated_at": "Recently updated",
  updated_at: "Least recently updated",
  "-created_at": "Newest",
  created_at: "Oldest",
  sla_due: "SLA due",
};

export function InboxPage() {
  const me = useMe().data ?? null;
  const staff = isStaff(me);
  const [params, setParams] = useSearchParams();
  const defaults = staff ? AGENT_DEFAULTS : DEFAULT_FILTERS;
  const sorts = staff ? SORTS : CUSTOMER_SORTS;
  // An agent's default view opens the inbox when it is loaded without filters.
  const ready = useDefaultView(staff, me?.id ?? null, params, setParams, defaults, sorts);
  return ready ? <Inbox /> : <Loading label="Opening your default view" />;
}

function Inbox() {
  const me = useMe().data ?? null;
  const staff = isStaff(me);
  const [params, setParams] = useSearchParams();
  const defaults = staff ? AGENT_DEFAULTS : DEFAULT_FILTERS;
  const sorts = staff ? SORTS : CUSTOMER_SORTS;
  const filters = parseFilters(params, defaults, sorts);
  const query = toApiQuery(filters, me?.id ?? null);
  const list = useTicketList(query);
  const counts = useStatusCounts(query);
  const people = useStaff(staff);
  const presence = usePresence(staff);
  const now = useNow();
  const navigate = useNavigate();
  const searchRef = useRef<HTMLInputElement>(null);
  const [selected, setSelected] = useState(-1);
  const [help, setHelp] = useState(false);
  const tickets = list.data?.pages.flatMap((p) => p.data) ?? [];
  const teams = useTeams(staff);
  const knownTags = useKnownTags();
  const [picked, setPicked] = useState(EMPTY_SELECTION);
  const rowIds = tickets.map((t) => t.id);
  const visiblePicked = keepVisible(picked, rowIds);
  const pickedIds = selectedInOrder(visiblePicked, rowIds);
  useDocumentTitle(staff ? "Inbox" : "My tickets");

  useEffect(() => setSelected(-1), [params]);
  useEffect(() => preload(pages.ticket), []);

  function update(change: Partial<InboxFilters>) {
    // flushSync: the filters are controlled by the URL, and a navigation in a transition would
    // leave a clicked checkbox or a changed select showing its old value until the transition
    // commits (under load, long enough to be seen and for a click to seem lost).
    setParams(filtersToParams({ ...filters, ...change }, defaults), { flushSync: true });
  }

  function toggleStatus(status: (typeof STATUSES)[number]) {
    const next = filters.status.includes(status)
      ? filters.status.filter((s) => s !== status)
      : [...filters.status, status];
    update({ status: next });
  }

  useShortcuts({
    j: () => setSelected((i) => moveSelection(i, 1, tickets.length)),
    k: () => setSelected((i) => moveSelection(i, -1, tickets.length)),
    o: () => tickets[selected] && navigate(`/tickets/${tickets[selected].id}`),
    ...(staff
      ? {
          x: () => {
            const row = tickets[selected];
            if (row) setPicked((p) => toggle(p, row.id));
          },
        }
      : {}),
    "/": () => searchRef.current?.focus(),
    c: () => navigate("/tickets/new"),
    "?": () => setHelp(true),
  });

  useEffect(() => {
    if (selected >= 0) {
      document.getElementById(`ticket-row-${selected}`)?.focus();
    }
  }, [selected]);

  function search(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    update({ q: String(new FormData(event.currentTarget).get("q") ?? "") });
  }

  return (
    <section aria-labelledby="inbox-title">
      <div className={styles.titleRow}>
        <h1 id="inbox-title">{staff ? "Inbox" : "My tickets"}</h1>
        <Link to="/tickets/new" className={styles.newLink}>
          New ticket
        </Link>
      </div>
      <form role="search" className={styles.search} onSubmit={search} key={filters.q}>
        <label htmlFor="inbox-q" className="visually-hidden">
          Search tickets
        </label>
        <input
          id="inbox-q"
          ref={searchRef}
          name="q"
          type="search"
          placeholder="Search title and description (press /)"
          defaultValue={filters.q}
          maxLength={200}
        />
        <button type="submit">Search</button>
      </form>
      <fieldset className={styles.statuses}>
        <legend>Status</legend>
        {STATUSES.map((status) => {
          const count = counts.data?.get(status);
          return (
            <label key={status} className={styles.chip}>
              <input
                type="checkbox"
                checked={filters.status.includes(status)}
                onChange={() => toggleStatus(status)}
              />
              {humanize(status)}{" "}
              <span className={styles.count}>
                {count ? `(${cappedCount(count.count, count.capped)})` : ""}
                {count && <span className="visually-hidden"> tickets</span>}
              </span>
            </label>
          );
        })}
      </fieldset>
      <div className={styles.filters}>
        <label>
          Priority{" "}
          <select
            value={filters.priority ?? ""}
            onChange={(e) => update({ priority: (e.target.value || null) as InboxFilters["priority"] })}
          >
            <option value="">Any</option>
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {humanize(p)}
              </option>
            ))}
          </select>
        </label>
        {staff && (
          <label>
            Assignee{" "}
            <select value={filters.assignee ?? ""} onChange={(e) => update({ assignee: e.target.value || null })}>
              <option value="">Anyone</option>
              <option value="me">Assigned to me</option>
              {people.data?.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name}
                </option>
              ))}
            </select>
          </label>
        )}
        {staff && (
          <label>
            Team{" "}
            <select value={filters.team ?? ""} onChange={(e) => update({ team: e.target.value || null })}>
              <option value="">Any team</option>
              {teamsOf(teams.data, me?.id).length > 0 && (
                <optgroup label="My teams">
                  {teamsOf(teams.data, me?.id).map((t) => (
                    <option key={t.id} value={t.id}>
                      {t.name}
                    </option>
                  ))}
                </optgroup>
              )}
              <optgroup label="All teams">
                {teams.data
                  ?.filter((t) => !me || !t.member_ids.includes(me.id))
                  .map((t) => (
                    <option key={t.id} value={t.id}>
                      {t.name}
                    </option>
                  ))}
              </optgroup>
            </select>
          </label>
        )}
        {staff && (
          <label>
            Tag{" "}
            <input
              key={filters.tag ?? ""}
              defaultValue={filters.tag ?? ""}
              list="inbox-known-tags"
              maxLength={50}
              size={10}
              onKeyDown={(e) => {
                if (e.key === "Enter") update({ tag: e.currentTarget.value.trim().toLowerCase() || null });
              }}
              onBlur={(e) => {
                const tag = e.currentTarget.value.trim().toLowerCase() || null;
                if (tag !== filters.tag) update({ tag });
              }}
            />
            <datalist id="inbox-known-tags">
              {knownTags.map((t) => (
                <option key={t} value={t} />
              ))}
            </datalist>
          </label>
        )}
        <label>
          Sort{" "}
          <select value={filters.sort} onChange={(e) => update({ sort: e.target.value as InboxFilters["sort"] })}>
            {sorts.map((s) => (
              <option key={s} value={s}>
                {SORT_LABELS[s]}
              </option>
            ))}
          </select>
        </label>
        {params.toString() !== "" && (
          <button type="button" data-variant="secondary" onClick={() => setParams(new URLSearchParams())}>
            Clear filters
          </button>
        )}
      </div>
      {staff && (
        <ViewsMenu
          filters={filters}
          defaults={defaults}
          sorts={sorts}
          meId={me?.id ?? null}
          onApply={(next) => setParams(next, { flushSync: true })}
        />
      )}
      {staff && pickedIds.length > 0 && (
        <Suspense fallback={<Loading label="Loading bulk actions" />}>
          <BulkBar
            ids={pickedIds}
            titleOf={(id) => tickets.find((t) => t.id === id)?.title ?? id}
            staff={people.data}
            teams={teams.data}
            knownTags={knownTags}
            onClear={() => setPicked(EMPTY_SELECTION)}
          />
        </Suspense>
      )}
      {staff && filters.customer && (
        <CustomerFilterNote customerId={filters.customer} onClear={() => update({ customer: null })} />
      )}
      {list.isPending ? (
        <Loading label="Loading tickets" />
      ) : list.isError ? (
        <ProblemMessage error={list.error} retry={() => void list.refetch()} />
      ) : tickets.length === 0 ? (
        <EmptyState title="No tickets match">
          {params.toString() ? <p>Try other filters or clear them.</p> : <p>Nothing here yet.</p>}
        </EmptyState>
      ) : (
        <table className={styles.table} aria-label="Tickets">
          <thead>
            <tr>
              {staff && (
                <th scope="col" className={styles.pick}>
                  <input
                    type="checkbox"
                    aria-label="Select all tickets shown"
                    checked={headerState(visiblePicked, rowIds) === "all"}
                    ref={(el) => {
                      if (el) el.indeterminate = headerState(visiblePicked, rowIds) === "some";
                    }}
                    onChange={() => setPicked(toggleAll(visiblePicked, rowIds))}
                  />
                </th>
              )}
              <th scope="col">Title</th>
              {staff && <th scope="col" className={styles.wide}>Customer</th>}
              <th scope="col">Status</th>
              <th scope="col">Priority</th>
              {staff && <th scope="col" className={styles.wide}>SLA</th>}
              {staff && <th scope="col" className={styles.wide}>Assignee</th>}
              <th scope="col" className={styles.wide}>Updated</th>
            </tr>
          </thead>
          <tbody>
            {tickets.map((t, i) => (
              <tr
                key={t.id}
                aria-selected={i === selected}
                className={i === selected ? styles.selected : undefined}
                data-unread={staff && t.unread ? "" : undefined}
              >
                {staff && (
                  <td className={styles.pick}>
                    <input
                      type="checkbox"
                      aria-label={`Select ${t.title}`}
                      checked={visiblePicked.ids.has(t.id)}
                      onChange={() => undefined}
                      onClick={(e) =>
                        setPicked((p) => (e.shiftKey ? extendTo(keepVisible(p, rowIds), rowIds, t.id) : toggle(p, t.id)))
                      }
                    />
                  </td>
                )}
                <td className={styles.titleCell}>
                  <TicketTitleLink id={`ticket-row-${i}`} ticket={t} staff={staff} />
                  {(() => {
                    const here = staff ? othersOn(presence.data, t.id, me?.id, now) : [];
                    return here.length > 0 ? (
                      <span className={styles.presence}>{describePresence(here, (id) => nameOf(people.data, id))}</span>
                    ) : null;
                  })()}
                  <TagChips tags={t.tags ?? []} team={staff ? teamName(teams.data, t.team_id) : null} />
                </td>
                {staff && (
                  <td className={styles.wide}>
                    <CustomerCell customer={t.customer} />
                  </td>
                )}
                <td>
                  <span className={styles.badge} data-status={t.status}>
                    {humanize(t.status)}
                  </span>
                </td>
                <td>{humanize(t.priority)}</td>
                {staff && (
                  <td className={styles.wide}>
                    <SlaBadge sla={t.sla} now={now} />
                  </td>
                )}
                {staff && <td className={styles.wide}>{nameOf(people.data, t.assigned_to)}</td>}
                <td className={styles.wide}>{formatDateTime(t.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.hasNextPage && (
        <button
          type="button"
          className={styles.more}
          data-variant="secondary"
          disabled={list.isFetchingNextPage}
          onClick={() => void list.fetchNextPage()}
        >
          {list.isFetchingNextPage ? "Loading…" : "Load more"}
        </button>
      )}
      {list.isFetchNextPageError && <ProblemMessage error={list.error} />}
      <p className={styles.hint}>
        Keys: <kbd>j</kbd>/<kbd>k</kbd> move, <kbd>o</kbd> or <kbd>Enter</kbd> open,{" "}
        {staff && (
          <>
            <kbd>x</kbd> select,{" "}
          </>
        )}
        <kbd>/</kbd> search, <kbd>c</kbd> new ticket.{" "}
        <button type="button" data-variant="secondary" onClick={() => setHelp(true)}>
          Keyboard shortcuts (?)
        </button>
      </p>
      {help && (
        <Suspense fallback={null}>
          <ShortcutsHelp shortcuts={SHORTCUTS} onClose={() => setHelp(false)} />
        </Suspense>
      )}
    </section>
  );
}
