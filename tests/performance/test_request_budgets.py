"""Per-request budgets of the hot path: SQL statements and Redis round trips, counted (DESIGN §12).

A regression here is a failing test, not a slower benchmark. Counts are taken with the caller's
principal already resolved (a warm process), as in steady-state traffic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis.asyncio.connection import AbstractConnection
from sqlalchemy import event

from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_ticket

pytestmark = pytest.mark.performance

TICKETS = "/api/v1/tickets"


@dataclass
class Tally:
    sql: list[str] = field(default_factory=list)
    redis_trips: int = 0


HANDSHAKE = (b"HELLO", b"CLIENT", b"PING")  # a new pooled connection's set-up, not the request's


def _handshake(command: Any) -> bool:
    packed = b"".join(command) if isinstance(command, list) else bytes(command)
    first = packed.split(b"\r\n")[2] if packed.startswith(b"*") else b""
    return first.upper() in HANDSHAKE


@pytest.fixture
def count(engine, monkeypatch) -> Iterator[Any]:
    """A context manager that counts the SQL statements and Redis round trips inside it."""
    current: list[Tally] = []

    def on_execute(_conn, _cursor, statement, *_args):
        head = statement.lstrip().split(None, 1)[0].upper()
        if current and head not in ("SAVEPOINT", "RELEASE", "ROLLBACK"):  # the test's wrapping
            current[-1].sql.append(statement)

    original = AbstractConnection.send_packed_command

    async def send_packed_command(self, command, check_health=True):
        if current and not _handshake(command):
            current[-1].redis_trips += 1
        return await original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", send_packed_command)
    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)

    @contextmanager
    def counting() -> Iterator[Tally]:
        tally = Tally()
        current.append(tally)
        try:
            yield tally
        finally:
            current.pop()

    yield counting
    event.remove(engine.sync_engine, "before_cursor_execute", on_execute)


@pytest.fixture
def warm(app):
    """Freeze the principal cache's clock so its generation check is not due mid-test."""
    now = [0.0]
    app.state.services.principals.monotonic = lambda: now[0]
    return now


async def _warm_up(client, headers) -> None:
    r = await client.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 200


SLA_POLICY = {
    "name": "Budget policy",
    "position": 0,
    "targets": {"normal": {"first_response": {"seconds": 3600, "business": False}}},
}


async def _with_sla(client, session, cast: Cast, title: str) -> Any:
    """A ticket under an SLA policy, its clocks derived (the worker's part, done here)."""
    from helpline.kit.clock import utcnow
    from helpline.sla import service as sla_service

    r = await client.post("/api/v1/sla-policies", json=SLA_POLICY, headers=cast.admin.headers)
    assert r.status_code == 201, r.text
    tid = await make_ticket(session, cast.alice.id, title=title)
    await session.flush()
    assert await sla_service.derive_tickets(session, [tid], utcnow()) == 1
    await session.commit()
    return tid


class TestSlaBlockBudgets:
    """The `sla` block rides in the ticket's own statement and in its cached bytes (ADR 0013)."""

    async def test_uncached_get_with_sla_is_still_one_statement(
        self, client, session, cast: Cast, count, warm
    ):
        tid = await _with_sla(client, session, cast, "Cold SLA")
        await _warm_up(client, cast.agent.headers)
        with count() as miss:
            r = await client.get(f"{TICKETS}/{tid}", headers=cast.agent.headers)
        with count() as hit:
            again = await client.get(f"{TICKETS}/{tid}", headers=cast.agent.headers)
        assert r.status_code == again.status_code == 200
        assert r.json()["sla"]["policy_name"] == "Budget policy"
        assert r.json()["sla"]["first_response_due_at"] is not None
        assert again.json() == r.json()
        assert len(miss.sql) == 1, miss.sql  # ticket, metadata and sla block
        assert miss.redis_trips == 2
        assert hit.sql == []
        assert hit.redis_trips == 1

    async def test_list_with_sla_blocks_is_one_statement(
        self, client, session, cast: Cast, count, warm
    ):
        await _with_sla(client, session, cast, "Listed SLA")
        await _warm_up(client, cast.agent.headers)
        query = {"customer_id": str(cast.alice.id), "limit": 5}
        with count() as page:
            r = await client.get(TICKETS, params=query, headers=cast.agent.headers)
        with count() as due:
            by_due = await client.get(
                TICKETS, params={**query, "sort": "sla_due"}, headers=cast.agent.headers
            )
        assert r.status_code == by_due.status_code == 200
        assert r.json()["data"][0]["sla"]["policy_name"] == "Budget policy"
        assert len(page.sql) == 1, page.sql  # the page with every item's sla block
        assert page.redis_trips == 2
        # sla_due: tickets with a deadline, then (the page is not full) those without one.
        assert by_due.json()["data"][0]["sla"]["first_response_due_at"] is not None
        assert len(due.sql) == 2, due.sql


class TestReadBudgets:
    async def test_cached_get_is_one_redis_trip_and_no_sql(
        self, client, session, cast: Cast, count, warm
    ):
        tid = await make_ticket(session, cast.alice.id, title="Budget")
        await session.commit()
        await _warm_up(client, cast.agent.headers)
        assert (await client.get(f"{TICKETS}/{tid}", headers=cast.agent.headers)).status_code == 200
        with count() as hit:
            r = await client.get(f"{TICKETS}/{tid}", headers=cast.agent.headers)
        assert r.status_code == 200
        assert r.json()["title"] == "Budget"
        assert r.headers["ratelimit-policy"].startswith('"api-key"')
        assert hit.sql == []
        assert hit.redis_trips == 1

    async def test_uncached_get_is_one_statement_and_two_trips(
        self, client, session, cast: Cast, count, warm
    ):
        tid = await make_ticket(session, cast.alice.id, title="Cold")
        await session.commit()
        await _warm_up(client, cast.agent.headers)
        with count() as miss:
            r = await client.get(f"{TICKETS}/{tid}", headers=cast.agent.headers)
        assert r.status_code == 200
        assert r.json()["title"] == "Cold"
        assert len(miss.sql) == 1, miss.sql  # the ticket with its metadata
        assert miss.redis_trips == 2  # limit + lookup (+lease) together, then the fill

    async def test_cached_list_is_one_redis_trip_and_no_sql(
        self, client, session, cast: Cast, count, warm
    ):
        await make_ticket(session, cast.alice.id)
        await session.commit()
        await _warm_up(client, cast.agent.headers)
        # A query no other test asks (this test's customer): the run shares one Redis prefix,
        # and a plain staff list cached by an earlier test in the last seconds would be a hit.
        query = {"customer_id": str(cast.alice.id)}
        with count() as miss:
            first = await client.get(TICKETS, params=query, headers=cast.agent.headers)
        with count() as hit:
            second = await client.get(TICKETS, params=query, headers=cast.agent.headers)
        assert first.status_code == second.status_code == 200
        assert first.json() == second.json()
        assert len(first.json()["data"]) >= 1
        assert len(miss.sql) == 1, miss.sql
        assert miss.redis_trips == 2
        assert hit.sql == []
        assert hit.redis_trips == 1

    async def test_a_new_principal_costs_one_lookup(self, client, session, cast: Cast, count):
        tid = await make_ticket(session, cast.alice.id)
        await session.commit()
        await client.get(f"{TICKETS}/{tid}", headers=cast.agent.headers)  # fills the ticket cache
        with count() as cold:
            r = await client.get(f"{TICKETS}/{tid}", headers=cast.alice.headers)
        assert r.status_code == 200
        assert len(cold.sql) == 1, cold.sql  # the key lookup; the ticket came from the cache
        assert cold.redis_trips <= 2


class TestWriteBudgets:
    async def test_create_ticket(self, client, cast: Cast, count, warm):
        await _warm_up(client, cast.agent.headers)
        body = {"title": "Budgeted", "customer_id": str(cast.alice.id)}
        with count() as tally:
            r = await client.post(TICKETS, json=body, headers=cast.agent.headers)
        assert r.status_code == 201
        assert r.json()["title"] == "Budgeted"
        # actor context, then the insert that checks the customer (history and audit are
        # triggers)
        assert len(tally.sql) == 2, tally.sql
        assert tally.redis_trips == 2  # the rate limit, then the invalidation after commit

    async def test_patch_ticket(self, client, session, cast: Cast, count, warm):
        tid = await make_ticket(session, cast.alice.id)
        await session.commit()
        await _warm_up(client, cast.agent.headers)
        with count() as tally:
            r = await client.patch(
                f"{TICKETS}/{tid}", json={"status": "open"}, headers=cast.agent.headers
            )
        assert r.status_code == 200
        assert r.json()["status"] == "open"
        assert len(tally.sql) == 3, tally.sql  # actor context, lock, update
        assert tally.redis_trips == 2

    async def test_add_message(self, client, session, cast: Cast, count, warm):
        tid = await make_ticket(session, cast.alice.id)
        await session.commit()
        await _warm_up(client, cast.agent.headers)
        with count() as tally:
            r = await client.post(
                f"{TICKETS}/{tid}/conversations",
                json={"message": "On it."},
                headers=cast.agent.headers,
            )
        assert r.status_code == 201
        assert r.json()["message"] == "On it."
        # actor context; lock + check + version bump of the ticket; the insert
        assert len(tally.sql) == 3, tally.sql
        assert tally.redis_trips == 2

    async def test_bulk_update_is_one_lock_and_one_update_per_changed_ticket(
        self, client, session, cast: Cast, count, warm
    ):
        ids = [str(await make_ticket(session, cast.alice.id)) for _ in range(20)]
        closed = str(await make_ticket(session, cast.alice.id, status="closed"))
        await session.commit()
        await _warm_up(client, cast.agent.headers)
        body = {"ticket_ids": [*ids, closed], "changes": {"status": "open", "add_tags": ["x"]}}
        with count() as tally:
            r = await client.post(f"{TICKETS}/bulk", json=body, headers=cast.agent.headers)
        assert r.status_code == 200
        assert (r.json()["updated"], r.json()["failed"]) == (20, 1)
        # actor context, one lock of all 21 rows, one update per changed ticket (not the closed)
        assert len(tally.sql) == 2 + 20, tally.sql
        assert tally.redis_trips == 2  # the rate limit, then one invalidation of all 20


class TestUnreadBudgets:
    """Read markers ride in the list's one statement; the cached GET is untouched (ADR 0010)."""

    async def test_staff_list_with_unread_and_customer_is_one_statement(
        self, client, session, cast: Cast, count, warm
    ):
        tid = await make_ticket(session, cast.alice.id, title="Unread budget")
        await session.commit()
        await _warm_up(client, cast.agent.headers)
        query = {"customer_id": str(cast.alice.id), "limit": 3}
        with count() as miss:
            first = await client.get(TICKETS, params=query, headers=cast.agent.headers)
        with count() as hit:
            second = await client.get(TICKETS, params=query, headers=cast.agent.headers)
        assert first.status_code == second.status_code == 200
        [item] = first.json()["data"]
        assert item["unread"] is True
        assert item["customer"]["id"] == str(cast.alice.id)
        assert first.json() == second.json()
        assert len(miss.sql) == 1, miss.sql  # page, sla blocks, customers and read markers
        assert miss.redis_trips == 2
        assert hit.sql == []
        assert hit.redis_trips == 1
        with count() as other:  # another agent's page is their own entry (a miss), same cost
            await client.get(TICKETS, params=query, headers=cast.admin.headers)
        assert len(other.sql) <= 2, other.sql  # (+ the admin's key lookup on first use)
        assert str(tid) == item["id"]

    async def test_mark_read_is_one_upsert_and_renews_only_the_readers_pages(
        self, client, session, cast: Cast, count, warm
    ):
        tid = await make_ticket(session, cast.alice.id, title="Read budget")
        await session.commit()
        await _warm_up(client, cast.agent.headers)
        assert (await client.get(f"{TICKETS}/{tid}", headers=cast.agent.headers)).status_code == 200
        with count() as tally:
            r = await client.put(
                f"{TICKETS}/{tid}/read", json={"version": 1}, headers=cast.agent.headers
            )
        assert r.status_code == 200, r.text
        assert len(tally.sql) == 2, tally.sql  # actor context, the upsert (checks the ticket)
        assert tally.redis_trips == 2  # the rate limit, then the reader's list generation
        with count() as hit:  # the ticket's cached GET is not touched by reading
            again = await client.get(f"{TICKETS}/{tid}", headers=cast.agent.headers)
        assert again.status_code == 200
        assert hit.sql == []
        assert hit.redis_trips == 1
