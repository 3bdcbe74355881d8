"""The list queries stay index-driven at scale: no sequential scan of tickets for any filter.

Bounded, deterministic checks of the *plan* (never of wall-clock time): 30,000 tickets are
generated in the test's rolled-back transaction, the table is analyzed, and EXPLAIN of the
repository's own keyset query must use the indexes made for it.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql

from helpline.models.enums import TicketPriority, TicketStatus
from helpline.ticket import repository
from helpline.ticket.access import TicketVisibility
from helpline.ticket.repository import TICKETS, _tsquery, list_statement, probe_search
from helpline.ticket.schemas import SearchScope, TicketFilters, TicketSort
from tests.fixtures.actors import Cast

pytestmark = pytest.mark.performance

STAFF = TicketVisibility(customer_id=None, sees_internal=True)


@pytest.fixture
async def many_tickets(session, cast: Cast):
    # Bulk data for the planner only: skip the history/audit triggers while loading it.
    await session.execute(text("SET LOCAL session_replication_role = replica"))
    await session.execute(
        text(
            """
            INSERT INTO tickets (id, title, description, status, priority, customer_id,
                                 created_at, updated_at)
            SELECT gen_random_uuid(), 'Ticket ' || g || CASE WHEN g % 500 = 0 THEN ' refund' ELSE '' END,
                   'Body ' || g,
                   (ARRAY['new','open','pending','on_hold','solved','closed'])[1 + g % 6],
                   (ARRAY['low','normal','high','urgent'])[1 + g % 4],
                   CASE WHEN g % 100 = 0 THEN CAST(:alice AS uuid) ELSE CAST(:bob AS uuid) END,
                   now() - make_interval(mins => g), now() - make_interval(mins => g)
              FROM generate_series(1, 30000) AS g
            """
        ),
        {"alice": cast.alice.id, "bob": cast.bob.id},
    )
    await session.execute(text("SET LOCAL session_replication_role = DEFAULT"))
    # The rows just inserted sit in the GIN indexes' pending lists (fastupdate) until a vacuum
    # or a full list: the planner prices scanning those and at times chose a Seq Scan for a
    # search here (seen under xdist). Merge them, as autovacuum would on a real table.
    await session.execute(text("SELECT gin_clean_pending_list('ix_tickets_search'::regclass)"))
    await session.execute(text("SELECT gin_clean_pending_list('ix_tickets_tags'::regclass)"))
    await session.execute(text("ANALYZE tickets"))
    return cast


async def plan(
    session, visibility, filters, sort=TicketSort.updated_desc, after=None, probe=None
) -> str:
    stmt = list_statement(visibility, filters, sort, 25, after, probe)
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    # Literal binds render the probe's id arrays as text; the bound statement sends uuid[].
    sql = re.sub(r"(= ANY \(ARRAY\[[^\]]*\])", r"\1::uuid[]", sql)
    rows = await session.execute(text(f"EXPLAIN {sql}"))
    return "\n".join(r[0] for r in rows)


@pytest.mark.parametrize(
    ("name", "filters"),
    [
        ("first page", TicketFilters()),
        ("status", TicketFilters(status=(TicketStatus.open,))),
        ("priority", TicketFilters(priority=TicketPriority.high)),
        ("search", TicketFilters(q="refund")),
    ],
)
async def test_staff_lists_avoid_sequential_scans(session, many_tickets, name, filters):
    explained = await plan(session, STAFF, filters)
    assert "Seq Scan on tickets" not in explained, explained
    assert "Index" in explained, explained


@pytest.mark.parametrize("q", ["refund", "zqxv", "#12345"])
async def test_a_rare_word_or_a_number_takes_its_tickets_by_id_not_the_updated_walk(
    session, many_tickets, q
):
    """Under `ORDER BY updated_at LIMIT` the planner cannot tell a rare word from a common one:
    at 1M tickets an order number walked 998,136 index entries (5.7 s). The probe takes the
    matches first (here 60, none, one) and the list reads them by primary key."""
    filters = TicketFilters(q=q)
    probe = await probe_search(session, STAFF, filters)
    assert probe is not None
    assert probe.tickets is not None
    explained = await plan(session, STAFF, filters, probe=probe)
    assert "pk_tickets" in explained, explained
    assert "ix_tickets_live_updated" not in explained, explained
    assert "Seq Scan on tickets" not in explained, explained


class TestCommonWords:
    async def test_the_estimate_is_the_planners_from_the_search_statistics(
        self, session, many_tickets
    ):
        every = select(TICKETS.c.id).where(TICKETS.c.search_vector.op("@@")(_tsquery("ticket")))
        few = select(TICKETS.c.id).where(TICKETS.c.search_vector.op("@@")(_tsquery("refund")))
        assert await repository._estimated_rows(session, every) > 20_000  # all 30,000
        assert await repository._estimated_rows(session, few) < 1_000  # 60

    async def test_a_word_expected_in_too_many_tickets_is_not_probed_and_still_found(
        self, session, many_tickets, monkeypatch
    ):
        """Taking every match of a common word from the GIN index cost 0.2-0.8 s at 1M tickets;
        its page is found by the walk. A rare word is still probed."""
        monkeypatch.setattr(repository, "PROBE_ESTIMATE_LIMIT", 1_000)
        common = TicketFilters(q="ticket", q_scope=SearchScope.all)
        probe = await probe_search(session, STAFF, common)
        assert probe is not None
        assert probe.tickets is None  # (no message holds it: that probe finds none, cheaply)
        rows = await repository.list_tickets(
            session, STAFF, common, TicketSort.updated_desc, 25, None
        )
        assert len(rows) == 26
        rare = await probe_search(session, STAFF, TicketFilters(q="refund"))
        assert rare is not None
        assert rare.tickets is not None
        assert len(rare.tickets) == 60

    async def test_the_page_is_the_same_probed_or_walked(self, session, many_tickets, monkeypatch):
        filters = TicketFilters(q="refund", q_scope=SearchScope.all)

        async def page() -> list[uuid.UUID]:
            rows = await repository.list_tickets(
                session, STAFF, filters, TicketSort.updated_desc, 25, None
            )
            return [r.id for r in rows]

        probed = await page()
        monkeypatch.setattr(repository, "PROBE_ESTIMATE_LIMIT", -1)
        assert await page() == probed
        assert len(probed) == 26


@pytest.fixture
async def vip_tickets(session, many_tickets):
    """Every 500th ticket tagged `vip` (60 of 30,000), the rest untagged, then analyzed."""
    await session.execute(text("SET LOCAL session_replication_role = replica"))
    await session.execute(text("UPDATE tickets SET tags = '{vip}' WHERE title LIKE '% refund'"))
    await session.execute(text("SET LOCAL session_replication_role = DEFAULT"))
    await session.execute(text("SELECT gin_clean_pending_list('ix_tickets_tags'::regclass)"))
    await session.execute(text("ANALYZE tickets"))
    return many_tickets


class TestTagFilter:
    @pytest.mark.parametrize(("tags", "tagged"), [(("vip",), 60), (("nobody",), 0)])
    async def test_a_rare_tag_takes_its_tickets_by_id_not_the_updated_walk(
        self, session, vip_tickets, tags, tagged
    ):
        """A tag on few tickets or none is estimated at 0.5% of them: under `ORDER BY
        updated_at LIMIT` the list walked the whole updated_at index testing each row's tags
        (7.7 s at 1M tickets for a tag on none). The probe takes the tagged tickets first."""
        filters = TicketFilters(tags=tags)
        probe = await probe_search(session, STAFF, filters)
        assert probe is not None
        assert probe.tagged is not None
        assert len(probe.tagged) == tagged
        explained = await plan(session, STAFF, filters, probe=probe)
        assert "ix_tickets_live_updated" not in explained, explained
        assert "Seq Scan on tickets" not in explained, explained

    async def test_a_tag_on_more_tickets_than_the_cap_is_tested_in_the_walk(
        self, session, vip_tickets, monkeypatch
    ):
        monkeypatch.setattr(repository, "TAG_PROBE_CAP", 10)
        probe = await probe_search(session, STAFF, TicketFilters(tags=("vip",)))
        assert probe is not None
        assert probe.tagged is None

    async def test_customers_are_not_probed(self, session, vip_tickets):
        mine = TicketVisibility(customer_id=vip_tickets.alice.id, sees_internal=False)
        assert await probe_search(session, mine, TicketFilters(tags=("vip",))) is None


async def test_customer_list_uses_the_customer_index(session, many_tickets):
    mine = TicketVisibility(customer_id=many_tickets.alice.id, sees_internal=False)
    explained = await plan(session, mine, TicketFilters())
    assert "ix_tickets_customer_updated" in explained, explained


async def test_deep_keyset_page_is_still_an_index_range(session, many_tickets):
    after = (datetime(2000, 1, 1, tzinfo=UTC), uuid.UUID(int=0))
    explained = await plan(session, STAFF, TicketFilters(), after=after)
    assert "Seq Scan on tickets" not in explained, explained
    assert "Sort" not in explained.split("->")[0], explained  # rows come out of the index ordered


async def test_due_rule_timers_are_an_index_range_not_a_scan(session, many_tickets):
    """Time rules (issue 25): the worker's look for due timers reads the due_at index, however
    many tickets have a timer (here 30,000, a handful due)."""
    from helpline.rule.repository import DUE_TIMERS

    rule_id = uuid.uuid4()
    await session.execute(
        text("INSERT INTO rules (id, name, conditions, actions) VALUES (:id, 'stale', '{}', '[]')"),
        {"id": rule_id},
    )
    await session.execute(
        text(
            "INSERT INTO rule_timers (rule_id, ticket_id, basis, due_at)"
            " SELECT :r, id, 'created', now() + make_interval(hours => CAST(1 + number % 500 AS int))"
            " FROM tickets"
        ),
        {"r": rule_id},
    )
    await session.execute(text("ANALYZE rule_timers"))
    sql = DUE_TIMERS.replace(":now", "now()").replace(":limit", "200")
    found = "\n".join(r[0] for r in await session.execute(text(f"EXPLAIN {sql}")))
    assert "ix_rule_timers_due_at" in found, found
    assert "Seq Scan on rule_timers" not in found, found
    assert "tickets" not in found, found


@pytest.fixture
async def inbox_order(session, many_tickets):
    """The inbox's `sla_due` order for the 30,000 tickets (the bulk load skipped the trigger that
    gives each new ticket its sla_inbox_rest row): a third with a running deadline, the rest
    without one."""
    await session.execute(
        text(
            "INSERT INTO sla_ticket_states (ticket_id, due_at)"
            " SELECT id, now() + make_interval(mins => CAST(number % 5000 AS int))"
            " FROM tickets WHERE number % 3 = 0"
        )
    )
    await session.execute(
        text(
            "INSERT INTO sla_inbox_rest (ticket_id, ticket_updated_at)"
            " SELECT id, updated_at FROM tickets WHERE number % 3 <> 0"
            " ON CONFLICT (ticket_id) DO NOTHING"
        )
    )
    await session.execute(text("ANALYZE sla_ticket_states"))
    await session.execute(text("ANALYZE sla_inbox_rest"))
    return many_tickets


def _big_seq_scans(explained: str) -> list[str]:
    """Sequential scans of the big tables (sla_policies, a handful of rows, may be scanned)."""
    tables = ("tickets", "sla_ticket_states", "sla_inbox_rest", "sla_clocks")
    return [t for t in tables if f"Seq Scan on {t} " in explained]


def _nodes(node: dict) -> list[dict]:
    """The plan's nodes that produce the page's rows (not the per-row `sla` block subplan)."""
    children = [c for c in node.get("Plans", []) if c.get("Parent Relationship") != "SubPlan"]
    return [node, *(n for child in children for n in _nodes(child))]


async def analyzed(session, stmt) -> list[dict]:
    """The plan's nodes as EXPLAIN (ANALYZE, FORMAT JSON) reports them (rows, not times)."""
    sql = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    result = await session.execute(text(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}"))
    return _nodes(result.scalar_one()[0]["Plan"])


class TestInboxBySlaDue:
    """`sort=sla_due` is two index ranges (sla_ticket_states' due index, then sla_inbox_rest's,
    migration 0025): a page reads about
    as many index entries as it returns, wherever it is in the order — the page that crosses from
    deadlines to the tickets without one no longer skips every ticket that has a deadline."""

    @pytest.mark.parametrize(
        ("name", "filters"),
        [
            ("first page", TicketFilters()),
            ("priority", TicketFilters(priority=TicketPriority.high)),
            ("status", TicketFilters(status=(TicketStatus.open, TicketStatus.new))),
        ],
    )
    async def test_deadlines_are_a_range_of_the_due_index(
        self, session, inbox_order, name, filters
    ):
        explained = await plan(session, STAFF, filters, sort=TicketSort.sla_due)
        assert "ix_sla_ticket_states_due" in explained, explained
        assert not _big_seq_scans(explained), explained
        assert "Sort" not in explained.split("->")[0], explained

    async def test_a_selective_filter_sorts_only_what_it_selects(self, session, inbox_order):
        # One assignee's few tickets: their index, then a sort of those rows (not of the set).
        filters = TicketFilters(assigned_to=uuid.UUID(int=7))
        explained = await plan(session, STAFF, filters, sort=TicketSort.sla_due)
        assert not _big_seq_scans(explained), explained
        assert "ix_tickets_assignee_updated" in explained, explained

    @pytest.mark.parametrize(
        "after",
        [None, (datetime(2000, 1, 1, tzinfo=UTC), uuid.UUID(int=2**128 - 1))],
        ids=["crossing over", "deep in the rest"],
    )
    async def test_tickets_without_a_deadline_are_a_range_of_the_rest_index(
        self, session, inbox_order, after
    ):
        from helpline.ticket.repository import without_deadline_statement

        stmt = without_deadline_statement(STAFF, TicketFilters(), 25, after)
        nodes = await analyzed(session, stmt)
        kinds = [n["Node Type"] for n in nodes]
        assert "Seq Scan" not in kinds, nodes
        assert "Sort" not in kinds, nodes
        rest = [n for n in nodes if n.get("Index Name") == "ix_sla_inbox_rest_recent"]
        assert rest, nodes
        # The crossing page's second statement reads the 26 entries it returns (before: it walked
        # the default order's index past all 10,000 tickets that have a deadline).
        assert rest[0]["Actual Rows"] <= 26, rest

    async def test_the_first_page_reads_only_its_rows(self, session, inbox_order):
        stmt = list_statement(STAFF, TicketFilters(), TicketSort.sla_due, 25, None)
        nodes = await analyzed(session, stmt)
        due = [n for n in nodes if n.get("Index Name") == "ix_sla_ticket_states_due"]
        assert due, nodes
        assert due[0]["Actual Rows"] <= 26, due
