"""Time rules (issue 25): timers scheduled from the change feed, fired at injected times (the
runner's clock), once per ticket or once per start of the clock, and once with two workers —
never by scanning tickets."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from helpline.auth.principal import SYSTEM_PRINCIPAL
from helpline.db import Database
from helpline.models.enums import Role
from helpline.rule import service as rule_service
from helpline.rule import timers
from helpline.rule.schemas import RuleUpdate
from helpline.sla import service as sla_service
from helpline.sla.schemas import CalendarCreate
from tests.fixtures.clock import FakeClock
from tests.fixtures.factories import make_user
from tests.integration.test_rules import add_rule, drain, live, live_url, new_ticket, rows, runner

pytestmark = pytest.mark.integration
__all__ = ["live", "live_url"]  # fixtures


def unassigned_for(minutes: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"unassigned {minutes} min",
        "conditions": {
            "all": [
                {"field": "assigned_to", "op": "not_exists"},
                {
                    "field": "time.assignee_changed",
                    "op": "older_than",
                    "value": {"amount": minutes, "unit": "minutes"},
                },
            ]
        },
        "actions": [{"type": "add_tags", "tags": ["unassigned"]}],
        **extra,
    }


def pending_for(hours: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"pending {hours} h",
        "conditions": {
            "all": [
                {"field": "status", "op": "eq", "value": "pending"},
                {
                    "field": "time.status_changed",
                    "op": "older_than",
                    "value": {"amount": hours, "unit": "hours"},
                },
            ]
        },
        "actions": [{"type": "internal_note", "body": "Still pending: #{{ ticket.number }}"}],
        **extra,
    }


async def set_status(database: Database, ticket_id: uuid.UUID, status: str) -> None:
    async with database.transaction() as s:
        await s.execute(
            text("UPDATE tickets SET status = :s WHERE id = :t"), {"s": status, "t": ticket_id}
        )


async def timer(database: Database, rule_id: uuid.UUID, ticket_id: uuid.UUID) -> Any:
    found = await rows(
        database,
        "SELECT basis, due_at FROM rule_timers WHERE rule_id = :r AND ticket_id = :t",
        r=rule_id,
        t=ticket_id,
    )
    return found[0] if found else None


async def created_at(database: Database, ticket_id: uuid.UUID) -> datetime:
    return (await rows(database, "SELECT created_at FROM tickets WHERE id = :t", t=ticket_id))[
        0
    ].created_at


class TestTimeRules:
    async def test_unassigned_for_30_minutes_fires_once_at_its_time(self, live: Database):
        rule_id = await add_rule(live, **unassigned_for(30))
        ticket_id, _ = await new_ticket(live, "nobody's")
        clock = FakeClock()
        r = runner(live, clock)
        await drain(r)  # the feed: the ticket's timer is set from its creation
        start = await created_at(live, ticket_id)
        due = (await timer(live, rule_id, ticket_id)).due_at
        assert due == start + timedelta(minutes=30)

        clock.now = due - timedelta(seconds=1)
        assert await timers.fire_due(r) == 0
        tags = await rows(live, "SELECT tags FROM tickets WHERE id = :t", t=ticket_id)
        assert tags[0].tags == []

        clock.now = due + timedelta(seconds=1)
        assert await timers.fire_due(r) == 1
        assert await timers.fire_due(r) == 0  # fired for this basis: not again
        ticket = (await rows(live, "SELECT tags FROM tickets WHERE id = :t", t=ticket_id))[0]
        assert ticket.tags == ["unassigned"]
        log = await rows(
            live,
            "SELECT event_id, ticket_id, timer_basis, status, effects FROM rule_executions"
            " WHERE rule_id = :r",
            r=rule_id,
        )
        assert [(e.event_id, e.ticket_id, e.status) for e in log] == [(None, ticket_id, "applied")]
        assert log[0].timer_basis == f"assignee_changed={start.isoformat()}"
        assert log[0].effects == [{"type": "tags", "from": [], "to": ["unassigned"]}]
        # attributed to the rule, like an event rule's change
        history = await rows(
            live,
            "SELECT request_id FROM ticket_history WHERE ticket_id = :t"
            " AND change_type = 'tags_changed'",
            t=ticket_id,
        )
        assert [h.request_id for h in history] == [f"rule:{rule_id}:0:timer:{ticket_id}"]
        fired = await timer(live, rule_id, ticket_id)
        assert fired.due_at is None  # kept, as fired, for its basis

    async def test_a_timer_is_dropped_when_its_condition_stops_holding(self, live: Database):
        rule_id = await add_rule(live, **unassigned_for(30))
        ticket_id, _ = await new_ticket(live, "soon taken")
        clock = FakeClock()
        r = runner(live, clock)
        await drain(r)
        assert await timer(live, rule_id, ticket_id) is not None
        async with live.transaction() as s:
            agent = await make_user(s, Role.agent)
            await s.execute(
                text("UPDATE tickets SET assigned_to = :a WHERE id = :t"),
                {"a": agent.id, "t": ticket_id},
            )
        await drain(r)
        assert await timer(live, rule_id, ticket_id) is None
        clock.advance(hours=2)
        assert await timers.fire_due(r) == 0
        assert (
            await rows(live, "SELECT id FROM rule_executions WHERE rule_id = :r", r=rule_id) == []
        )

    async def test_every_time_mode_fires_again_when_the_clock_starts_again(self, live: Database):
        every = await add_rule(live, **pending_for(2))
        once = await add_rule(live, **pending_for(2, name="once", once_per_ticket=True))
        ticket_id, _ = await new_ticket(live, "waiting")
        clock = FakeClock()
        r = runner(live, clock)
        for _round in range(2):
            await set_status(live, ticket_id, "pending")
            await drain(r)
            clock.advance(hours=3)
            await drain(r)
            await set_status(live, ticket_id, "open")
            await drain(r)
        counts = {
            x.rule_id: (x.applied, x.skipped)
            for x in await rows(
                live,
                "SELECT rule_id, count(*) FILTER (WHERE status = 'applied') AS applied,"
                " count(*) FILTER (WHERE status = 'skipped') AS skipped"
                " FROM rule_executions GROUP BY rule_id",
            )
        }
        assert counts[every] == (2, 0)  # one per pending stint
        assert counts[once] == (1, 1)  # the second stint: skipped, runs once per ticket
        notes = await rows(
            live,
            "SELECT count(*) AS n FROM conversations WHERE ticket_id = :t AND is_internal",
            t=ticket_id,
        )
        assert notes[0].n == 3

    async def test_two_workers_fire_a_timer_once(self, live: Database):
        rule_id = await add_rule(live, **unassigned_for(30))
        tickets = [(await new_ticket(live, f"t{i}"))[0] for i in range(4)]
        clock = FakeClock()
        await drain(runner(live, clock, owner="feed"))
        clock.advance(minutes=31)
        one, two = runner(live, clock, owner="w1"), runner(live, clock, owner="w2")
        fired = await asyncio.gather(timers.fire_due(one), timers.fire_due(two))
        assert sum(fired) == 4
        log = await rows(
            live, "SELECT ticket_id FROM rule_executions WHERE rule_id = :r", r=rule_id
        )
        assert sorted(e.ticket_id for e in log) == sorted(tickets)
        changes = await rows(
            live,
            "SELECT ticket_id, count(*) AS n FROM ticket_history"
            " WHERE change_type = 'tags_changed' GROUP BY ticket_id",
        )
        assert {c.ticket_id: c.n for c in changes} == {t: 1 for t in tickets}

    async def test_a_new_time_rule_builds_timers_for_open_tickets(self, live: Database):
        clock = FakeClock()
        r = runner(live, clock)
        before = (await new_ticket(live, "older"))[0]
        closed = (await new_ticket(live, "closed"))[0]
        await set_status(live, closed, "closed")
        await drain(r)
        rule_id = await add_rule(live, **unassigned_for(10))
        await drain(r)
        assert (await timer(live, rule_id, before)) is not None
        assert (await timer(live, rule_id, closed)) is None
        state = await rows(
            live, "SELECT timers_built_at FROM rule_state WHERE rule_id = :r", r=rule_id
        )
        assert state[0].timers_built_at is not None

    async def test_pending_for_3_business_days_in_a_calendar(self, live: Database):
        async with live.transaction() as s:
            calendar = await sla_service.create_calendar(
                s,
                SYSTEM_PRINCIPAL,
                CalendarCreate.model_validate(
                    {
                        "name": "Office",
                        "time_zone": "Europe/Berlin",
                        "intervals": [
                            {"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)
                        ],
                    }
                ),
                now=datetime.now(UTC),
            )
        rule_id = await add_rule(
            live,
            name="3 business days",
            conditions={
                "all": [
                    {"field": "status", "op": "eq", "value": "pending"},
                    {
                        "field": "time.status_changed",
                        "op": "older_than",
                        "value": {
                            "amount": 3,
                            "unit": "business_days",
                            "calendar_id": str(calendar.id),
                        },
                    },
                ]
            },
            actions=[{"type": "set", "field": "status", "value": "solved"}],
        )
        # A ticket created pending on Friday 2026-12-04 15:00 in Berlin (no status change
        # since: the clock counts from its creation).
        friday = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
        async with live.transaction() as s:
            customer = await make_user(s, Role.customer)
            ticket_id = uuid.uuid4()
            await s.execute(
                text(
                    "INSERT INTO tickets (id, title, customer_id, status, created_at)"
                    " VALUES (:id, 'waiting', :c, 'pending', :at)"
                ),
                {"id": ticket_id, "c": customer.id, "at": friday},
            )
        clock = FakeClock(friday)
        r = runner(live, clock)
        await drain(r)
        wednesday = datetime(2026, 12, 9, 14, 0, tzinfo=UTC)  # 15:00 in Berlin
        assert (await timer(live, rule_id, ticket_id)).due_at == wednesday
        clock.now = wednesday - timedelta(minutes=1)
        assert await timers.fire_due(r) == 0
        clock.now = wednesday
        assert await timers.fire_due(r) == 1
        status = await rows(live, "SELECT status FROM tickets WHERE id = :t", t=ticket_id)
        assert status[0].status == "solved"

    async def test_disabling_drops_timers_and_enabling_builds_them_again(self, live: Database):
        rule_id = await add_rule(live, **unassigned_for(30))
        ticket_id, _ = await new_ticket(live, "waiting")
        clock = FakeClock()
        r = runner(live, clock)
        await drain(r)
        assert await timer(live, rule_id, ticket_id) is not None
        async with live.transaction() as s:
            await rule_service.update_rule(
                s, SYSTEM_PRINCIPAL, rule_id, RuleUpdate(enabled=False), clock()
            )
        assert await timer(live, rule_id, ticket_id) is None
        clock.advance(hours=1)
        assert await timers.fire_due(r) == 0
        async with live.transaction() as s:
            await rule_service.update_rule(
                s, SYSTEM_PRINCIPAL, rule_id, RuleUpdate(enabled=True), clock()
            )
        await drain(r)  # built again over the open tickets; due already, so it runs
        assert (await timer(live, rule_id, ticket_id)).due_at is None  # fired
        log = await rows(
            live, "SELECT status, timer_basis FROM rule_executions WHERE rule_id = :r", r=rule_id
        )
        assert [e.status for e in log] == ["applied"]
        assert await timers.fire_due(r) == 0
