"""The change feed: events written by triggers, read through GET /api/v1/events."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from sqlalchemy import func, select, text

from helpline.auth.principal import SYSTEM_PRINCIPAL
from helpline.config import Settings
from helpline.db import Database, make_engine
from helpline.events import service as events_service
from helpline.models import Event
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_user

pytestmark = pytest.mark.integration

EVENTS = "/api/v1/events"
TICKETS = "/api/v1/tickets"


async def staff_ticket(client, cast: Cast, **extra) -> dict:
    body = {"title": "Printer", "description": "Smoke", "customer_id": str(cast.alice.id)}
    r = await client.post(TICKETS, json={**body, **extra}, headers=cast.agent.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def feed(client, actor, **params) -> dict:
    r = await client.get(EVENTS, params=params, headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def changes(client, cast: Cast) -> dict:
    """One ticket with one change of every kind."""
    ticket = await staff_ticket(client, cast)
    tid = ticket["id"]
    r = await client.patch(f"{TICKETS}/{tid}", json={"status": "open"}, headers=cast.agent.headers)
    assert r.status_code == 200, r.text
    r = await client.patch(
        f"{TICKETS}/{tid}", json={"priority": "urgent"}, headers=cast.agent.headers
    )
    assert r.status_code == 200, r.text
    r = await client.put(
        f"{TICKETS}/{tid}/metadata/order", json={"value": 42}, headers=cast.agent.headers
    )
    assert r.status_code in (200, 201), r.text
    r = await client.post(
        f"{TICKETS}/{tid}/conversations",
        json={"message": "We are on it"},
        headers=cast.agent.headers,
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"{TICKETS}/{tid}/conversations",
        json={"message": "Customer is grumpy", "is_internal": True},
        headers=cast.agent.headers,
    )
    assert r.status_code == 201, r.text
    return ticket


class TestFeed:
    async def test_every_kind_of_change_is_one_event_in_order(self, client, cast: Cast):
        ticket = await changes(client, cast)
        body = await feed(client, cast.admin, ticket_id=ticket["id"])
        events = body["data"]
        assert [e["type"] for e in events] == [
            "ticket.created",
            "ticket.updated",
            "ticket.updated",
            "metadata.changed",
            "message.created",
            "message.created",
        ]
        assert all(e["ticket_id"] == ticket["id"] for e in events)
        created, status, priority, metadata, public, internal = events
        assert created["data"]["title"] == "Printer"
        assert created["data"]["customer_id"] == str(cast.alice.id)
        assert created["actor_id"] == str(cast.agent.id)
        assert status["data"]["changes"] == {"status": ["new", "open"]}
        assert status["data"]["version"] == ticket["version"] + 1
        assert priority["data"]["changes"] == {"priority": ["normal", "urgent"]}
        assert metadata["data"] == {
            "key": "order",
            "value": 42,
            "old_value": None,
            "removed": False,
        }
        assert public["data"]["excerpt"] == "We are on it"
        assert internal["data"]["is_internal"] is True
        assert body["meta"]["has_more"] is False
        assert body["meta"]["next_cursor"] == internal["cursor"]

    async def test_resuming_from_a_cursor_returns_only_later_events(self, client, cast: Cast):
        ticket = await staff_ticket(client, cast)
        first = await feed(client, cast.admin, ticket_id=ticket["id"])
        cursor = first["meta"]["next_cursor"]
        again = await feed(client, cast.admin, ticket_id=ticket["id"], after=cursor)
        assert again["data"] == []
        assert again["meta"]["next_cursor"] == cursor  # nothing new: resume from the same place
        r = await client.patch(
            f"{TICKETS}/{ticket['id']}",
            json={"title": "Printer on fire"},
            headers=cast.agent.headers,
        )
        assert r.status_code == 200
        later = await feed(client, cast.admin, ticket_id=ticket["id"], after=cursor)
        assert [e["data"]["changes"] for e in later["data"]] == [
            {"title": ["Printer", "Printer on fire"]}
        ]

    async def test_pages_chain_without_gaps_or_repeats(self, client, cast: Cast):
        ticket = await changes(client, cast)
        everything = await feed(client, cast.admin, ticket_id=ticket["id"])
        seen, after = [], None
        while True:
            params = {"ticket_id": ticket["id"], "limit": 2}
            if after:
                params["after"] = after
            page = await feed(client, cast.admin, **params)
            seen += [e["id"] for e in page["data"]]
            after = page["meta"]["next_cursor"]
            if not page["meta"]["has_more"]:
                break
        assert seen == [e["id"] for e in everything["data"]]

    async def test_types_filter(self, client, cast: Cast):
        ticket = await changes(client, cast)
        body = await feed(
            client, cast.admin, ticket_id=ticket["id"], types="metadata.changed,ticket.created"
        )
        assert [e["type"] for e in body["data"]] == ["ticket.created", "metadata.changed"]

    async def test_unknown_type_is_422_and_bad_cursor_400(self, client, cast: Cast):
        r = await client.get(
            EVENTS, params={"types": "ticket.exploded"}, headers=cast.admin.headers
        )
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"] == "/problems/validation-error"
        r = await client.get(EVENTS, params={"after": "forged"}, headers=cast.admin.headers)
        assert r.status_code == 400
        assert r.json()["type"] == "/problems/invalid-cursor"

    async def test_attachment_bound_to_a_message_is_attachment_added(self, client, cast: Cast):
        ticket = await staff_ticket(client, cast)
        upload = await client.post(
            "/api/v1/attachments",
            files={"file": ("log.txt", b"boom", "text/plain")},
            headers=cast.agent.headers,
        )
        assert upload.status_code == 201, upload.text
        r = await client.post(
            f"{TICKETS}/{ticket['id']}/conversations",
            json={"message": "See log", "attachment_ids": [upload.json()["id"]]},
            headers=cast.agent.headers,
        )
        assert r.status_code == 201, r.text
        body = await feed(client, cast.admin, ticket_id=ticket["id"], types="attachment.added")
        [added] = body["data"]
        assert added["data"]["attachment_id"] == upload.json()["id"]
        assert added["data"]["message_id"] == r.json()["id"]
        assert added["data"]["filename"] == "log.txt"


class TestVisibility:
    async def test_customer_sees_own_public_events_only(self, client, cast: Cast):
        ticket = await changes(client, cast)
        alice = await feed(client, cast.alice, ticket_id=ticket["id"])
        types = [e["type"] for e in alice["data"]]
        # No internal note and no priority-only update; assignment and priority stripped.
        assert types == ["ticket.created", "ticket.updated", "metadata.changed", "message.created"]
        assert all(not e["data"].get("is_internal", False) for e in alice["data"])
        assert "priority" not in alice["data"][0]["data"]
        assert "assigned_to" not in alice["data"][0]["data"]
        bob = await feed(client, cast.bob)
        assert all(e["ticket_id"] != ticket["id"] for e in bob["data"])

    async def test_customer_never_sees_internal_note_events_through_any_filter(
        self, client, cast: Cast
    ):
        ticket = await changes(client, cast)
        body = await feed(client, cast.alice, types="message.created", ticket_id=ticket["id"])
        assert [e["data"]["excerpt"] for e in body["data"]] == ["We are on it"]

    async def test_needs_credentials(self, client):
        r = await client.get(EVENTS)
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == "/problems/unauthenticated"
        assert "data" not in r.json()


class TestTransactions:
    async def test_failed_request_writes_no_event(self, client, cast: Cast, session):
        ticket = await staff_ticket(client, cast)
        before = await session.scalar(select(func.count()).select_from(Event))
        r = await client.patch(
            f"{TICKETS}/{ticket['id']}",
            json={"status": "open"},
            headers={**cast.agent.headers, "If-Match": '"999"'},
        )
        assert r.status_code == 412
        assert await session.scalar(select(func.count()).select_from(Event)) == before

    async def test_rolled_back_change_writes_no_event(self, db: Database, cast: Cast, session):
        before = await session.scalar(select(func.count()).select_from(Event))

        async def doomed() -> None:
            async with db.transaction() as tx:
                await tx.execute(
                    text(
                        "INSERT INTO tickets (id, title, description, customer_id)"
                        " VALUES (gen_random_uuid(), 'Doomed', '', :c)"
                    ),
                    {"c": cast.alice.id},
                )
                raise RuntimeError("abort")

        with pytest.raises(RuntimeError):
            await doomed()
        assert await session.scalar(select(func.count()).select_from(Event)) == before

    async def test_retention_purges_old_events(self, session, cast: Cast, clock):
        await session.execute(
            text(
                "INSERT INTO tickets (id, title, description, customer_id)"
                " VALUES (gen_random_uuid(), 'Old', '', :c)"
            ),
            {"c": cast.alice.id},
        )
        assert await session.scalar(select(func.count()).select_from(Event)) > 0
        kept = await events_service.purge_expired(session, clock(), retention_days=30)
        assert kept == 0  # nothing is older than 30 days yet
        purged = await events_service.purge_expired(
            session, clock() + timedelta(days=31), retention_days=30
        )
        assert purged > 0
        assert await session.scalar(select(func.count()).select_from(Event)) == 0


@pytest.fixture
def committed_url(make_database) -> str:
    """A database of its own where the test commits for real (no enclosing transaction)."""
    return make_database()


async def writers_and_a_resuming_reader(
    database: Database, writers: int = 4, per_writer: int = 25
) -> tuple[list[int], list[int]]:
    """``writers`` commit tickets in an order that differs from their event ids while a reader
    resumes from its cursor after every page; what the reader saw, and every event id."""
    secret = b"s" * 32
    async with database.transaction() as s:
        customer = await make_user(s)
    done = asyncio.Event()

    async def writer(n: int) -> None:
        rng = random.Random(n)
        for i in range(per_writer):
            async with database.transaction() as s:
                await s.execute(
                    text(
                        "INSERT INTO tickets (id, title, description, customer_id)"
                        " VALUES (gen_random_uuid(), :t, '', :c)"
                    ),
                    {"t": f"w{n}-{i}", "c": customer.id},
                )
                # Hold the transaction open a little so commits interleave.
                await s.execute(text("SELECT pg_sleep(:d)"), {"d": rng.random() / 200})

    async def reader() -> list[int]:
        seen: list[int] = []
        after = None
        while True:
            finished = done.is_set()
            async with database.transaction() as s:
                page = await events_service.read_feed(
                    s,
                    SYSTEM_PRINCIPAL,
                    after=after,
                    types=(),
                    ticket_id=None,
                    limit=7,
                    cursor_secret=secret,
                )
                committed_ids = set((await s.execute(text("SELECT id FROM events"))).scalars())
            seen += [e.id for e in page.events]
            after = page.next_cursor
            if finished and not page.has_more and len(seen) >= len(committed_ids):
                return seen
            await asyncio.sleep(0)

    read = asyncio.create_task(reader())
    await asyncio.gather(*(writer(n) for n in range(writers)))
    done.set()
    seen = await asyncio.wait_for(read, timeout=30)
    async with database.transaction() as s:
        all_ids = list((await s.execute(text("SELECT id FROM events"))).scalars())
    assert len(all_ids) == writers * per_writer
    return seen, all_ids


class TestConcurrentWriters:
    async def test_resuming_reader_sees_a_gap_free_duplicate_free_sequence(
        self, committed_url: str, settings: Settings
    ):
        """4 writers commit in an order that differs from their event ids; a reader that
        resumes from its cursor while they write must still get every event exactly once."""
        database = Database(make_engine(committed_url, settings, pool_size=8))
        try:
            seen, all_ids = await writers_and_a_resuming_reader(database)
            assert len(seen) == len(set(seen)), "an event was delivered twice"
            assert sorted(seen) == sorted(all_ids), "an event was missed"
        finally:
            await database.dispose()


@pytest.fixture
def elsewhere_url(make_database) -> str:
    """Another database on the same server."""
    return make_database(migrate=False)


@pytest.fixture
async def stranger(elsewhere_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A long bulk load in *another* database on the same server: a writing transaction that
    stays open (it has a transaction id older than every change the test makes)."""
    conn = await asyncpg.connect(elsewhere_url)
    tx = conn.transaction()
    await tx.start()
    await conn.execute("CREATE TABLE bulk_load (n int)")
    await conn.execute("INSERT INTO bulk_load SELECT generate_series(1, 1000)")
    try:
        yield conn
    finally:
        await tx.rollback()
        await conn.close()


async def insert_ticket(session, customer_id, title: str = "t") -> None:
    await session.execute(
        text(
            "INSERT INTO tickets (id, title, description, customer_id)"
            " VALUES (gen_random_uuid(), :t, '', :c)"
        ),
        {"t": title, "c": customer_id},
    )


async def read_all(database: Database, after: str | None = None) -> events_service.FeedPage:
    async with database.transaction() as s:
        return await events_service.read_feed(
            s,
            SYSTEM_PRINCIPAL,
            after=after,
            types=(),
            ticket_id=None,
            limit=100,
            cursor_secret=b"s" * 32,
        )


class TestStrangersTransactions:
    """Issue 21, item 5: a writing transaction in another database on the same server held the
    feed (and every webhook) for its whole duration."""

    async def test_a_change_is_read_within_seconds_while_a_stranger_writes(
        self, committed_url: str, settings: Settings, stranger
    ):
        database = Database(make_engine(committed_url, settings, pool_size=2))
        try:
            async with database.transaction() as s:
                customer = await make_user(s)
                await insert_ticket(s, customer.id, "while the bulk load runs")
            deadline = time.monotonic() + 5
            while not (page := await read_all(database)).events:
                assert time.monotonic() < deadline, "the feed waited for another database"
                await asyncio.sleep(0.05)  # polling the feed, not waiting for time
            assert [e.data["title"] for e in page.events] == ["while the bulk load runs"]
        finally:
            await database.dispose()

    async def test_gap_free_and_duplicate_free_while_a_stranger_writes(
        self, committed_url: str, settings: Settings, stranger
    ):
        database = Database(make_engine(committed_url, settings, pool_size=8))
        try:
            seen, all_ids = await writers_and_a_resuming_reader(database)
            assert len(seen) == len(set(seen)), "an event was delivered twice"
            assert sorted(seen) == sorted(all_ids), "an event was missed"
        finally:
            await database.dispose()

    async def test_a_writer_in_this_database_still_goes_first(
        self, committed_url: str, settings: Settings, stranger
    ):
        """What keeps the feed gap-free: an open writer *here* may still emit events, and they
        come before later ones, so the feed shows nothing past it until it ends."""
        database = Database(make_engine(committed_url, settings, pool_size=4))
        try:
            async with database.transaction() as s:
                customer = await make_user(s)
            async with database.transaction() as slow:
                await slow.execute(text("SELECT pg_current_xact_id()"))  # it has an id now
                async with database.transaction() as fast:
                    await insert_ticket(fast, customer.id, "fast")
                assert (await read_all(database)).events == []
                await insert_ticket(slow, customer.id, "slow")
            page = await read_all(database)
            assert [e.data["title"] for e in page.events] == ["slow", "fast"]
        finally:
            await database.dispose()

    async def test_a_change_committed_during_the_read_is_not_passed(
        self, committed_url: str, settings: Settings
    ):
        """The horizon also holds back transactions that were running when the reader's
        snapshot was taken and committed before it looked at who is running."""
        database = Database(make_engine(committed_url, settings, pool_size=2))
        try:
            async with database.transaction() as s:
                customer = await make_user(s)
                await insert_ticket(s, customer.id)
            async with database.transaction() as s:
                xid = await s.scalar(text("SELECT max(xid) FROM events"))
                # A snapshot in which that transaction was still running.
                taken_before = f"{xid}:{xid + 1}:{xid}"
                horizon = await s.scalar(
                    text("SELECT helpline_feed_horizon(CAST(CAST(:snap AS text) AS pg_snapshot))"),
                    {"snap": taken_before},
                )
            assert horizon == xid
        finally:
            await database.dispose()
