"""The `sla` block inside tickets (REST list and read, GraphQL), the SLA filters and the
`sla_due` order of the ticket list, and how the worker keeps cached tickets fresh."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from helpline.sla import service
from helpline.ticket import service as ticket_service
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_message, make_ticket

pytestmark = pytest.mark.integration

H = 3600
T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
POLICY = {
    "name": "Inbox policy",
    "position": 0,
    "targets": {
        p: {
            "first_response": {"seconds": H * (1 if p == "urgent" else 4), "business": False},
            "resolution": {"seconds": 24 * H, "business": False},
        }
        for p in ("normal", "urgent")
    },
}
TICKETS = "/api/v1/tickets"


@pytest.fixture
async def tickets(client, cast: Cast, session) -> list[uuid.UUID]:
    r = await client.post("/api/v1/sla-policies", json=POLICY, headers=cast.admin.headers)
    assert r.status_code == 201, r.text
    ids = [
        await make_ticket(session, cast.alice.id, created_at=T0, priority="normal"),  # due 12:00
        await make_ticket(
            session, cast.alice.id, created_at=T0, priority="urgent"
        ),  # 09:00, missed
        await make_ticket(session, cast.bob.id, created_at=T0 - timedelta(hours=2)),  # 12-08 06:00
        await make_ticket(session, cast.bob.id, created_at=T0, priority="low"),  # no target
    ]
    await make_message(
        session, ids[2], cast.agent.id, sender_type="agent", timestamp=T0 - timedelta(hours=1)
    )
    await session.flush()
    await service.derive_tickets(session, ids, T0 + timedelta(minutes=90))
    return ids


def _ids(body: dict) -> list[str]:
    return [t["id"] for t in body["data"]]


class TestBlockInTickets:
    async def test_staff_read_carries_the_block_and_an_etag_that_follows_it(
        self, client, cast: Cast, tickets
    ) -> None:
        r = await client.get(f"{TICKETS}/{tickets[1]}", headers=cast.agent.headers)
        assert r.status_code == 200, r.text
        sla = r.json()["sla"]
        assert sla["policy_name"] == "Inbox policy"
        assert sla["first_response_due_at"] == "2026-12-07T09:00:00Z"
        assert sla["resolution_due_at"] == "2026-12-08T08:00:00Z"
        assert sla["next_response_due_at"] is None
        assert sla["paused"] is False
        assert sla["breached"] == ["first_response"]
        # The same block as the ticket's own SLA route.
        own = await client.get(f"{TICKETS}/{tickets[1]}/sla", headers=cast.agent.headers)
        assert own.json() == sla
        version = r.json()["version"]
        assert r.headers["etag"].startswith(f'"{version}.')
        again = await client.get(
            f"{TICKETS}/{tickets[1]}",
            headers={**cast.agent.headers, "If-None-Match": r.headers["etag"]},
        )
        assert again.status_code == 304
        # If-Match takes the staff ETag as it came (the version is what it compares).
        patched = await client.patch(
            f"{TICKETS}/{tickets[1]}",
            json={"status": "open"},
            headers={**cast.agent.headers, "If-Match": r.headers["etag"]},
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["version"] == version + 1

    async def test_customers_never_see_it(self, client, cast: Cast, tickets) -> None:
        r = await client.get(f"{TICKETS}/{tickets[0]}", headers=cast.alice.headers)
        assert r.status_code == 200
        assert "sla" not in r.json()
        assert r.headers["etag"] == f'"{r.json()["version"]}"'
        # Cached by the staff read first: the customer still gets the body without it.
        await client.get(f"{TICKETS}/{tickets[1]}", headers=cast.agent.headers)
        r = await client.get(f"{TICKETS}/{tickets[1]}", headers=cast.alice.headers)
        assert "sla" not in r.json()
        page = await client.get(TICKETS, headers=cast.alice.headers)
        assert page.status_code == 200
        assert page.json()["data"]
        assert all("sla" not in t for t in page.json()["data"])
        for query in ("sort=sla_due", "sla_breached=true", "sla_due_before=2026-12-08T00:00:00Z"):
            refused = await client.get(f"{TICKETS}?{query}", headers=cast.alice.headers)
            assert refused.status_code == 403, query
            assert refused.json()["type"] == "/problems/permission-denied"

    async def test_list_items_carry_the_block_or_null(
        self, client, cast: Cast, tickets, session
    ) -> None:
        plain = await make_ticket(session, cast.bob.id, created_at=T0)  # derived: no, no block
        await session.flush()
        r = await client.get(f"{TICKETS}?limit=100", headers=cast.agent.headers)
        items = {t["id"]: t for t in r.json()["data"]}
        assert items[str(tickets[0])]["sla"]["first_response_due_at"] == "2026-12-07T12:00:00Z"
        assert items[str(tickets[2])]["sla"]["first_response_due_at"] is None  # answered
        assert items[str(tickets[2])]["sla"]["resolution_due_at"] == "2026-12-08T06:00:00Z"
        assert items[str(plain)]["sla"] is None


class TestFiltersAndSort:
    async def test_sla_due_order_pages_through_deadlines_then_the_rest(
        self, client, cast: Cast, tickets, session
    ) -> None:
        # Two more without a deadline: no policy matched yet (never derived), and one answered
        # and solved (its clocks are done).
        await make_ticket(session, cast.bob.id, created_at=T0)
        await make_ticket(session, cast.alice.id, created_at=T0 - timedelta(days=1))
        await session.flush()
        seen: list[dict] = []
        cursor = None
        while True:
            query = "sort=sla_due&limit=2" + (f"&cursor={cursor}" if cursor else "")
            r = await client.get(f"{TICKETS}?{query}", headers=cast.agent.headers)
            assert r.status_code == 200, r.text
            seen += r.json()["data"]
            cursor = r.json()["meta"]["next_cursor"]
            if cursor is None:
                break
        ids = [t["id"] for t in seen]
        # Running deadlines first (09:00, 12:00, next day 06:00), then the ones without one,
        # most recently updated first — across the page boundaries, each exactly once.
        assert ids[:3] == [str(tickets[1]), str(tickets[0]), str(tickets[2])]
        assert len(ids) == len(set(ids)) == 6
        rest = seen[3:]
        assert str(tickets[3]) in [t["id"] for t in rest]
        assert all(t["sla"] is None or t["sla"]["first_response_due_at"] is None for t in rest)
        keys = [(t["updated_at"], t["id"]) for t in rest]
        assert keys == sorted(keys, reverse=True)

    async def test_breached_and_due_before_filters(self, client, cast: Cast, tickets) -> None:
        r = await client.get(f"{TICKETS}?sla_breached=true", headers=cast.agent.headers)
        assert _ids(r.json()) == [str(tickets[1])]
        r = await client.get(
            f"{TICKETS}?sla_breached=false&sort=sla_due", headers=cast.agent.headers
        )
        assert _ids(r.json()) == [str(tickets[0]), str(tickets[2]), str(tickets[3])]
        r = await client.get(
            f"{TICKETS}?sla_due_before=2026-12-07T13:00:00Z&sort=sla_due",
            headers=cast.agent.headers,
        )
        assert _ids(r.json()) == [str(tickets[1]), str(tickets[0])]
        bad = await client.get(f"{TICKETS}?sla_due_before=tomorrow", headers=cast.agent.headers)
        assert bad.status_code == 422

    async def test_graphql_has_the_same_filter_and_order(self, client, cast: Cast, tickets) -> None:
        query = (
            '{ tickets(sort: sla_due, first: 3, filter: {slaDueBefore: "2026-12-09T00:00:00Z"})'
            " { edges { node { id sla { firstResponseDueAt breached } } }"
            " pageInfo { hasNextPage } } }"
        )
        r = await client.post("/graphql", json={"query": query}, headers=cast.agent.headers)
        body = r.json()
        assert "errors" not in body, body
        nodes = [e["node"] for e in body["data"]["tickets"]["edges"]]
        assert [n["id"] for n in nodes] == [str(tickets[1]), str(tickets[0]), str(tickets[2])]
        assert nodes[0]["sla"] == {
            "firstResponseDueAt": "2026-12-07T09:00:00+00:00",
            "breached": ["first_response"],
        }
        breached = "{ tickets(filter: {slaBreached: true}) { edges { node { id } } } }"
        r = await client.post("/graphql", json={"query": breached}, headers=cast.agent.headers)
        assert [e["node"]["id"] for e in r.json()["data"]["tickets"]["edges"]] == [str(tickets[1])]
        r = await client.post("/graphql", json={"query": breached}, headers=cast.alice.headers)
        assert r.json()["errors"][0]["extensions"]["type"] == "/problems/permission-denied"


async def _page_through(client, headers, query: str, limit: int) -> list[dict]:
    seen: list[dict] = []
    cursor = None
    while True:
        url = f"{TICKETS}?sort=sla_due&limit={limit}&{query}" + (
            f"&cursor={cursor}" if cursor else ""
        )
        r = await client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        seen += r.json()["data"]
        cursor = r.json()["meta"]["next_cursor"]
        if cursor is None:
            return seen


class TestSlaDueKeysetAcrossTheCrossover:
    """Every live ticket is in one half of the order — sla_ticket_states' deadlines or
    sla_inbox_rest (the trigger at insert, the worker after) — and small pages walk the whole order exactly once, with and without filters, after tickets
    gained and lost their deadlines."""

    async def _expected(self, session, where: str = "") -> list[str]:
        rows = await session.execute(
            text(
                "SELECT id FROM (SELECT t.id, 0 AS half, s.due_at AS at, t.id AS tie"
                " FROM tickets t JOIN sla_ticket_states s ON s.ticket_id = t.id"
                f" WHERE s.due_at IS NOT NULL AND t.deleted_at IS NULL {where}"
                " UNION ALL SELECT t.id, 1, r.ticket_updated_at, t.id"
                " FROM tickets t JOIN sla_inbox_rest r ON r.ticket_id = t.id"
                f" WHERE t.deleted_at IS NULL {where}) AS o"
                " ORDER BY half,"
                " CASE WHEN half = 0 THEN at END, CASE WHEN half = 0 THEN tie END,"
                " CASE WHEN half = 1 THEN at END DESC, CASE WHEN half = 1 THEN tie END DESC"
            )
        )
        # Deadlines by (due_at, id); then the rest by (updated_at as the worker saw it, id),
        # most recent first.
        return [str(r.id) for r in rows]

    async def test_small_pages_see_each_ticket_once(self, client, cast: Cast, session, tickets):
        more = [
            await make_ticket(
                session,
                cast.alice.id if i % 2 else cast.bob.id,
                created_at=T0 - timedelta(minutes=7 * i),
                priority=("normal", "urgent", "low")[i % 3],
                status=("new", "open", "pending")[(i // 3) % 3],
            )
            for i in range(14)
        ]
        gone = await make_ticket(session, cast.bob.id, created_at=T0, priority="urgent")
        await session.flush()
        ids = [*tickets, *more, gone]
        await service.derive_tickets(session, ids, T0 + timedelta(minutes=90))
        # Then two lose their deadline (one solved, one waiting on the customer), one waiting
        # ticket gains one, one is deleted, and one is new (no derivation yet: the trigger's row).
        with_deadline = await session.execute(
            text(
                "SELECT ticket_id FROM sla_ticket_states WHERE due_at IS NOT NULL"
                " AND ticket_id = ANY(:ids) ORDER BY ticket_id"
            ),
            {"ids": more},
        )
        losing = [r.ticket_id for r in with_deadline][:2]
        waiting = await session.execute(
            text(
                "SELECT id FROM tickets WHERE status = 'pending' AND priority <> 'low'"
                " AND id = ANY(:ids) ORDER BY id LIMIT 1"
            ),
            {"ids": more},
        )
        gaining = waiting.scalar_one()
        await session.execute(
            text("UPDATE tickets SET status = 'solved' WHERE id = :id"), {"id": losing[0]}
        )
        await session.execute(
            text("UPDATE tickets SET status = 'pending' WHERE id = :id"), {"id": losing[1]}
        )
        await session.execute(
            text("UPDATE tickets SET status = 'open' WHERE id = :id"), {"id": gaining}
        )
        await session.execute(
            text("UPDATE tickets SET deleted_at = now() WHERE id = :id"), {"id": gone}
        )
        fresh = await make_ticket(session, cast.alice.id, created_at=T0)
        await session.flush()
        await service.derive_tickets(session, ids, T0 + timedelta(minutes=95))
        dated = {
            r.ticket_id
            for r in await session.execute(
                text("SELECT ticket_id FROM sla_ticket_states WHERE due_at IS NOT NULL")
            )
        }
        rest = {r.ticket_id for r in await session.execute(text("SELECT * FROM sla_inbox_rest"))}
        assert gone not in rest | dated
        assert fresh in rest  # in the order before the worker has seen it
        assert {losing[0], losing[1]} <= rest - dated
        assert gaining in dated - rest
        live = await session.execute(text("SELECT id FROM tickets WHERE deleted_at IS NULL"))
        assert {r.id for r in live} == rest | dated  # each live ticket in exactly one half
        assert not rest & dated

        expected = await self._expected(session)
        assert str(fresh) in expected
        assert str(gone) not in expected
        for limit in (1, 2, 3, 25):
            seen = await _page_through(client, cast.agent.headers, "", limit)
            assert [t["id"] for t in seen] == expected, limit

        # Filters hold on both sides of the crossover.
        alice = f"customer_id={cast.alice.id}"
        seen = await _page_through(client, cast.agent.headers, alice, 2)
        assert [t["id"] for t in seen] == await self._expected(
            session, f"AND t.customer_id = '{cast.alice.id}'"
        )
        seen = await _page_through(client, cast.agent.headers, "status=open,pending", 2)
        assert [t["id"] for t in seen] == await self._expected(
            session, "AND t.status IN ('open', 'pending')"
        )
        seen = await _page_through(client, cast.agent.headers, "priority=urgent&status=new", 1)
        assert [t["id"] for t in seen] == await self._expected(
            session, "AND t.priority = 'urgent' AND t.status = 'new'"
        )
        seen = await _page_through(client, cast.agent.headers, "sla_breached=false", 2)
        assert [t["id"] for t in seen] == await self._expected(
            session,
            "AND EXISTS (SELECT 1 FROM sla_ticket_states s WHERE s.ticket_id = t.id"
            " AND cardinality(s.breached) = 0)",
        )

    async def test_customers_may_not_sort_by_it(self, client, cast: Cast, tickets):
        r = await client.get(f"{TICKETS}?sort=sla_due", headers=cast.alice.headers)
        assert r.status_code == 403
        assert r.json()["type"] == "/problems/permission-denied"


class TestWorkerKeepsCachesFresh:
    async def _recorded(self, session) -> list[uuid.UUID]:
        rows = await session.execute(
            text("SELECT ticket_id FROM cache_invalidations WHERE kind = 'ticket' ORDER BY id")
        )
        return [r.ticket_id for r in rows]

    async def test_a_changed_block_is_invalidated_an_unchanged_one_not(
        self, session, cast: Cast, tickets
    ) -> None:
        await session.execute(text("DELETE FROM cache_invalidations"))
        invalidate = ticket_service.invalidate_sla_from_worker
        # Same history, same instant: nothing changed, nothing to drop.
        await service.derive_tickets(
            session, tickets, T0 + timedelta(minutes=90), invalidate=invalidate
        )
        assert await self._recorded(session) == []
        # Ticket 0 gets its first reply: its block changes, the others' do not.
        await make_message(session, tickets[0], cast.agent.id, sender_type="agent", timestamp=T0)
        await session.flush()
        await service.derive_tickets(
            session, tickets, T0 + timedelta(minutes=91), invalidate=invalidate
        )
        assert await self._recorded(session) == [tickets[0]]

    async def test_a_breach_reaches_the_cached_ticket_through_the_outbox(
        self, session, app, client, cast: Cast, tickets
    ) -> None:
        await session.execute(text("DELETE FROM cache_invalidations"))
        url = f"{TICKETS}/{tickets[0]}"
        first = await client.get(url, headers=cast.agent.headers)
        assert first.json()["sla"]["breached"] == []
        cached = await client.get(url, headers=cast.agent.headers)  # served from Redis now
        assert cached.headers["etag"] == first.headers["etag"]
        # 12:00 passes: the alarm step notices the breach and records it on the ticket.
        await service.fire_alarms(
            session,
            datetime(2026, 12, 7, 12, 0, 5, tzinfo=UTC),
            invalidate=ticket_service.invalidate_sla_from_worker,
        )
        assert tickets[0] in await self._recorded(session)
        block = (await service.sla_of_tickets(session, [tickets[0]]))[tickets[0]]
        assert block.breached == ["first_response"]
        # Every API process delivers the outbox within a second; here, by hand.
        assert await app.state.services.invalidation_outbox.deliver() >= 1
        fresh = await client.get(url, headers=cast.agent.headers)
        assert fresh.json()["sla"]["breached"] == ["first_response"]
        assert fresh.json()["version"] == first.json()["version"]  # no write to the ticket
        assert fresh.headers["etag"] != first.headers["etag"]  # but a 304 would be stale
        stale = await client.get(
            url, headers={**cast.agent.headers, "If-None-Match": first.headers["etag"]}
        )
        assert stale.status_code == 200
        r = await client.get(f"{TICKETS}?sla_breached=true", headers=cast.agent.headers)
        assert str(tickets[0]) in _ids(r.json())
