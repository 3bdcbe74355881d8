"""The worker's side of service levels on a committed database: clocks follow the change feed,
alarms fire exactly once per clock and threshold with two workers, a policy change recomputes."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import text

from helpline.auth.principal import SYSTEM_PRINCIPAL
from helpline.config import Settings
from helpline.db import Database, make_engine
from helpline.models.enums import Role
from helpline.sla import runner, service
from helpline.sla.schemas import PolicyCreate, PolicyUpdate
from tests.fixtures.clock import FakeClock
from tests.fixtures.factories import make_message, make_ticket, make_user

pytestmark = pytest.mark.integration

H = 3600
TARGETS = {
    "normal": {
        "first_response": {"seconds": H, "business": False},
        "next_response": {"seconds": 2 * H, "business": False},
        "resolution": {"seconds": 8 * H, "business": False},
    }
}


@pytest.fixture
def committed_url(make_database) -> str:
    """A database of its own where the test commits for real (the worker must see it)."""
    return make_database()


@pytest.fixture
async def database(committed_url: str, settings: Settings):
    db = Database(make_engine(committed_url, settings, pool_size=4))
    yield db
    await db.dispose()


@pytest.fixture
async def second(committed_url: str, settings: Settings):
    """Another worker process's engine (its own connections) on the same database."""
    db = Database(make_engine(committed_url, settings, pool_size=4))
    yield db
    await db.dispose()


async def add_policy(database: Database, **extra) -> uuid.UUID:
    async with database.transaction() as s:
        _row, recompute = await service.create_policy(
            s, SYSTEM_PRINCIPAL, PolicyCreate(name="Standard", position=0, targets=TARGETS, **extra)
        )
    return recompute


async def people(database: Database) -> tuple[uuid.UUID, uuid.UUID]:
    async with database.transaction() as s:
        customer = await make_user(s)
        agent = await make_user(s, Role.agent)
    return customer.id, agent.id


async def clocks(database: Database, ticket_id: uuid.UUID) -> dict[tuple[str, int], object]:
    async with database.transaction() as s:
        return {(c.kind, c.cycle): c for c in await service.clocks_of_ticket(s, ticket_id)}


async def sla_events(database: Database) -> list[tuple[str, uuid.UUID, str]]:
    async with database.transaction() as s:
        rows = await s.execute(
            text(
                "SELECT type, ticket_id, data->>'kind' AS kind, internal FROM events"
                " WHERE type LIKE 'sla.%' ORDER BY id"
            )
        )
        out = []
        for r in rows:
            assert r.internal  # staff only
            out.append((r.type, r.ticket_id, r.kind))
        return out


class TestClocksFollowTheFeed:
    async def test_replies_notes_pauses(self, database: Database) -> None:
        clock = FakeClock()
        await add_policy(database)
        customer, agent = await people(database)
        async with database.transaction() as s:
            ticket = await make_ticket(s, customer)
            created = (
                await s.execute(
                    text("SELECT created_at FROM tickets WHERE id = :id"), {"id": ticket}
                )
            ).scalar_one()
        await runner.follow_feed(database, clock)
        got = await clocks(database, ticket)
        assert set(got) == {("first_response", 0), ("resolution", 0)}
        created = created.replace(microsecond=0)  # clocks count whole seconds
        assert got[("first_response", 0)].due_at == created + timedelta(hours=1)
        assert got[("resolution", 0)].due_at == created + timedelta(hours=8)

        # An internal note and an automatic message are no response.
        async with database.transaction() as s:
            await make_message(s, ticket, agent, sender_type="agent", is_internal=True)
            await make_message(s, ticket, None, sender_type="system")
        await runner.follow_feed(database, clock)
        first = (await clocks(database, ticket))[("first_response", 0)]
        assert first.fulfilled_at is None
        assert first.due_at == created + timedelta(hours=1)

        async with database.transaction() as s:
            await make_message(s, ticket, agent, sender_type="agent")
        await runner.follow_feed(database, clock)
        first = (await clocks(database, ticket))[("first_response", 0)]
        assert first.fulfilled_at is not None
        assert first.next_alarm_at is None

        async with database.transaction() as s:
            await make_message(s, ticket, customer, sender_type="customer")
        await runner.follow_feed(database, clock)
        nxt = (await clocks(database, ticket))[("next_response", 1)]
        assert nxt.fulfilled_at is None
        assert nxt.due_at is not None

        async with database.transaction() as s:
            await s.execute(
                text("UPDATE tickets SET status = 'pending' WHERE id = :id"), {"id": ticket}
            )
        await runner.follow_feed(database, clock)
        got = await clocks(database, ticket)
        assert got[("next_response", 1)].due_at is None  # paused: no deadline
        assert got[("next_response", 1)].paused_at is not None
        assert got[("resolution", 0)].due_at is None
        async with database.transaction() as s:
            block = (await service.sla_of_tickets(s, [ticket]))[ticket]
        assert block.paused is True
        assert block.policy_name == "Standard"
        assert (block.first_response_due_at, block.next_response_due_at) == (None, None)
        assert block.breached == []

    async def test_two_consumers_share_the_feed(self, database: Database, second: Database) -> None:
        clock = FakeClock()
        await add_policy(database)
        customer, _ = await people(database)
        async with database.transaction() as s:
            ids = [await make_ticket(s, customer) for _ in range(30)]
        read = await asyncio.gather(
            runner.follow_feed(database, clock, batch=4), runner.follow_feed(second, clock, batch=4)
        )
        read_more = await runner.follow_feed(database, clock, batch=4)
        assert sum(read) + read_more >= 30
        async with database.transaction() as s:
            states = await service.sla_of_tickets(s, ids)
        assert len(states) == 30

    async def test_a_deleted_ticket_loses_its_clocks(self, database: Database) -> None:
        clock = FakeClock()
        await add_policy(database)
        customer, _ = await people(database)
        async with database.transaction() as s:
            ticket = await make_ticket(s, customer)
        await runner.follow_feed(database, clock)
        assert await clocks(database, ticket)
        async with database.transaction() as s:
            await s.execute(
                text("UPDATE tickets SET deleted_at = now() WHERE id = :id"), {"id": ticket}
            )
        await runner.follow_feed(database, clock)
        assert await clocks(database, ticket) == {}


class TestAlarms:
    async def test_exactly_once_per_clock_and_threshold_with_two_workers(
        self, database: Database, second: Database
    ) -> None:
        await add_policy(database)
        customer, agent = await people(database)
        async with database.transaction() as s:
            ids = [await make_ticket(s, customer) for _ in range(25)]
            start = (await s.execute(text("SELECT max(created_at) FROM tickets"))).scalar_one()
        clock = FakeClock(start)
        await runner.follow_feed(database, clock)

        clock.advance(minutes=50)  # past 80 % of the first-response hour
        fired = await asyncio.gather(
            runner.fire_alarms(database, clock, batch=3), runner.fire_alarms(second, clock, batch=3)
        )
        assert sum(len(f) for f in fired) == 25
        events = await sla_events(database)
        assert Counter(e[0] for e in events) == {"sla.warning": 25}
        assert {e[1] for e in events} == set(ids)

        clock.advance(hours=2)  # the first response is now overdue: breaches, no more warnings
        for _ in range(2):  # a second round finds nothing left to do
            await asyncio.gather(
                runner.fire_alarms(database, clock, batch=4),
                runner.fire_alarms(second, clock, batch=4),
            )
        events = await sla_events(database)
        assert Counter((e[0], e[2]) for e in events) == {
            ("sla.warning", "first_response"): 25,
            ("sla.breached", "first_response"): 25,
        }

        # A late reply re-derives the clock: breached stays, and nothing fires again.
        async with database.transaction() as s:
            late = start + timedelta(hours=2)
            await make_message(s, ids[0], agent, sender_type="agent", timestamp=late)
        await runner.follow_feed(database, clock)
        first = (await clocks(database, ids[0]))[("first_response", 0)]
        assert first.fulfilled_at == late.replace(microsecond=0)
        created = (await clocks(database, ids[0]))[("first_response", 0)].started_at
        assert first.breached_at == created + timedelta(hours=1)
        assert first.next_alarm_at is None
        assert await runner.fire_alarms(database, clock) == []
        async with database.transaction() as s:
            block = (await service.sla_of_tickets(s, [ids[0]]))[ids[0]]
        assert block.breached == ["first_response"]

    async def test_the_due_job_reads_only_due_clocks(self, database: Database) -> None:
        """The alarm query is an index range scan on ix_sla_clocks_alarm, not a table scan."""
        async with database.transaction() as s:
            await s.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(
                r[0]
                for r in await s.execute(
                    text(
                        "EXPLAIN SELECT * FROM sla_clocks WHERE next_alarm_at IS NOT NULL"
                        " AND next_alarm_at <= now() ORDER BY next_alarm_at LIMIT 500"
                        " FOR UPDATE SKIP LOCKED"
                    )
                )
            )
        assert "ix_sla_clocks_alarm" in plan


class TestRecompute:
    async def test_a_policy_change_recomputes_open_tickets_in_batches(
        self, database: Database
    ) -> None:
        clock = FakeClock()
        customer, _ = await people(database)
        async with database.transaction() as s:
            ids = [await make_ticket(s, customer) for _ in range(17)]
            closed = await make_ticket(s, customer, status="closed")
        await runner.follow_feed(database, clock)  # no policy yet: no clocks
        async with database.transaction() as s:
            assert await service.sla_of_tickets(s, ids) == {}

        recompute = await add_policy(database)
        batches = await runner.recompute(database, clock, recompute, batch=5)
        assert batches == 4
        async with database.transaction() as s:
            run = await service.get_recompute(s, SYSTEM_PRINCIPAL, recompute)
            states = await service.sla_of_tickets(s, [*ids, closed])
        assert (run.state, run.total, run.done) == ("done", 17, 17)
        assert set(states) == set(ids)  # the closed ticket is not recomputed
        before = states[ids[0]].first_response_due_at

        async with database.transaction() as s:
            policy = (await service.list_policies(s, SYSTEM_PRINCIPAL))[0]
            targets = {"normal": {"first_response": {"seconds": 3 * H, "business": False}}}
            _, again = await service.update_policy(
                s, SYSTEM_PRINCIPAL, policy.id, PolicyUpdate(targets=targets)
            )
        await runner.recompute(database, clock, again, batch=100)
        async with database.transaction() as s:
            after = (await service.sla_of_tickets(s, [ids[0]]))[ids[0]]
        assert after.first_response_due_at == before + timedelta(hours=2)
        assert after.resolution_due_at is None  # no resolution target any more
