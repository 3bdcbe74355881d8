"""Automation rules (issue 25, items 3-5): the admin API, the dry run, and the runner that
executes rules from the change feed — attribution, depth limit, self-trigger, failures, and two
workers on the same events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text

from helpline.auth.permissions import Scope
from helpline.auth.principal import SYSTEM_PRINCIPAL, Principal
from helpline.config import Settings
from helpline.conversation import service as conversation_service
from helpline.db import Database, make_engine
from helpline.models.enums import Role
from helpline.rule import service as rule_service
from helpline.rule import timers
from helpline.rule.runner import RulesRunner
from helpline.rule.schemas import RuleCreate
from helpline.team import service as team_service
from helpline.team.schemas import TeamCreate
from tests.fixtures.actors import Cast
from tests.fixtures.clock import FakeClock
from tests.fixtures.factories import make_user

pytestmark = pytest.mark.integration

API = "/api/v1/rules"
SECRET = b"x" * 32

VIP = {
    "name": "VIP",
    "conditions": {
        "all": [{"field": "event", "op": "eq", "value": "ticket.created"}],
        "any": [{"field": "title", "op": "contains", "value": "vip"}],
    },
    "actions": [
        {"type": "set", "field": "priority", "value": "urgent"},
        {"type": "add_tags", "tags": ["vip"]},
        {"type": "internal_note", "body": "VIP #{{ ticket.number }} of {{ customer.name }}"},
    ],
}


# -- the admin API (rolled-back test transaction) ---------------------------------------------
class TestRulesApi:
    async def test_admins_only(self, client, cast: Cast):
        r = await client.post(API, json=VIP, headers=cast.agent.headers)
        assert r.status_code == 403
        assert r.json()["type"] == "/problems/permission-denied"
        assert (await client.get(API, headers=cast.agent.headers)).status_code == 403
        created = await client.post(API, json=VIP, headers=cast.admin.headers)
        assert created.status_code == 201, created.text
        assert created.json()["enabled"] is True
        assert [r["name"] for r in (await client.get(API, headers=cast.admin.headers)).json()] == [
            "VIP"
        ]

    async def test_unknown_fields_events_and_templates_are_422(self, client, cast: Cast):
        bad_field = {**VIP, "conditions": {"all": [{"field": "secret", "op": "eq", "value": 1}]}}
        r = await client.post(API, json=bad_field, headers=cast.admin.headers)
        assert r.status_code == 422
        bad_event = {**VIP, "conditions": {"all": [{"field": "event", "op": "eq", "value": "x"}]}}
        r = await client.post(API, json=bad_event, headers=cast.admin.headers)
        assert r.status_code == 422
        assert "unknown event kind" in r.text
        hostile = {**VIP, "actions": [{"type": "internal_note", "body": "{{ ticket.__class__ }}"}]}
        r = await client.post(API, json=hostile, headers=cast.admin.headers)
        assert r.status_code == 422
        assert r.json()["type"] == "/problems/template-refused"
        sla = {
            **VIP,
            "name": "SLA",
            "conditions": {"all": [{"field": "event", "op": "in", "value": ["sla.breached"]}]},
        }
        assert (await client.post(API, json=sla, headers=cast.admin.headers)).status_code == 201

    async def test_unknown_team_in_an_action_is_422(self, client, cast: Cast):
        body = {**VIP, "actions": [{"type": "assign_round_robin", "team_id": str(uuid.uuid4())}]}
        r = await client.post(API, json=body, headers=cast.admin.headers)
        assert r.status_code == 422
        assert r.json()["type"] == "/problems/rule-invalid"

    async def test_dry_run_reports_matches_and_changes_nothing(self, client, cast: Cast, session):
        for title in ("vip customer", "ordinary"):
            await client.post(
                "/api/v1/tickets",
                json={"title": title, "customer_id": str(cast.alice.id)},
                headers=cast.agent.headers,
            )
        rule = (await client.post(API, json=VIP, headers=cast.admin.headers)).json()
        counts = "SELECT (SELECT count(*) FROM ticket_history), (SELECT count(*) FROM events),"
        counts += " (SELECT count(*) FROM conversations), (SELECT count(*) FROM rule_executions)"
        before = (await session.execute(text(counts))).one()
        r = await client.post(
            f"{API}/{rule['id']}/dry-run",
            json={"limit": 10, "event": "ticket.created"},
            headers=cast.admin.headers,
        )
        assert r.status_code == 200, r.text
        result = r.json()
        assert result["evaluated"] >= 2
        assert [m["title"] for m in result["matched"]] == ["vip customer"]
        changes = result["matched"][0]["changes"]
        assert changes[0] == {"type": "set", "field": "priority", "from": "normal", "to": "urgent"}
        assert changes[1] == {"type": "tags", "from": [], "to": ["vip"]}
        assert changes[2]["type"] == "internal_note"
        assert changes[2]["body"].startswith("VIP #")
        assert (await session.execute(text(counts))).one() == before
        other_event = await client.post(
            f"{API}/{rule['id']}/dry-run",
            json={"event": "ticket.updated"},
            headers=cast.admin.headers,
        )
        assert other_event.json()["matched"] == []

    async def test_rule_changes_are_audited(self, client, cast: Cast, session):
        rule = (await client.post(API, json=VIP, headers=cast.admin.headers)).json()
        await client.patch(f"{API}/{rule['id']}", json={"position": 5}, headers=cast.admin.headers)
        await client.delete(f"{API}/{rule['id']}", headers=cast.admin.headers)
        actions = (
            (
                await session.execute(
                    text("SELECT action FROM audit_log WHERE entity_id = :r ORDER BY id"),
                    {"r": rule["id"]},
                )
            )
            .scalars()
            .all()
        )
        assert actions == ["rule.created", "rule.updated", "rule.deleted"]


# -- the runner (a database of its own: the worker commits for real) --------------------------
@pytest.fixture
def live_url(make_database) -> str:
    return make_database()


@pytest.fixture
async def live(live_url: str, settings: Settings) -> AsyncIterator[Database]:
    database = Database(make_engine(live_url, settings))
    yield database
    await database.dispose()


def runner(database: Database, clock: FakeClock | None = None, **kw: Any) -> RulesRunner:
    return RulesRunner(database, max_depth=kw.pop("max_depth", 3), clock=clock or FakeClock(), **kw)


async def add_rule(database: Database, **definition: Any) -> uuid.UUID:
    async with database.transaction() as s:
        rule = await rule_service.create_rule(
            s, SYSTEM_PRINCIPAL, RuleCreate.model_validate(definition)
        )
    return rule.id


async def new_ticket(database: Database, title: str = "vip please") -> tuple[uuid.UUID, Any]:
    async with database.transaction() as s:
        customer = await make_user(s, Role.customer)
    ticket_id = uuid.uuid4()
    async with database.transaction() as s:
        await s.execute(
            text("INSERT INTO tickets (id, title, customer_id) VALUES (:id, :t, :c)"),
            {"id": ticket_id, "t": title, "c": customer.id},
        )
    return ticket_id, customer


async def rows(database: Database, sql: str, **params: Any) -> list[Any]:
    async with database.transaction() as s:
        return list((await s.execute(text(sql), params)).all())


async def drain(r: RulesRunner, rounds: int = 20) -> None:
    """Run until the feed is empty (events settle within a few polls on a shared server)."""
    for _ in range(rounds):
        if not await r.step():
            pending = await rows(
                r.database,
                "SELECT count(*) FROM events e, rule_feed_cursor c WHERE (e.xid, e.id) > (c.xid, c.event_id)",
            )
            if pending[0][0] == 0:
                return
            await asyncio.sleep(0.1)


class TestRunner:
    async def test_rule_runs_once_attributed_to_the_rule(self, live: Database):
        rule_id = await add_rule(live, **VIP)
        ticket_id, customer = await new_ticket(live)
        await new_ticket(live, "ordinary")
        await drain(runner(live))

        ticket = (
            await rows(
                live, "SELECT priority, tags, version FROM tickets WHERE id = :t", t=ticket_id
            )
        )[0]
        assert ticket.priority == "urgent"
        assert ticket.tags == ["vip"]
        history = await rows(
            live,
            "SELECT change_type, changed_by, request_id FROM ticket_history"
            " WHERE ticket_id = :t AND change_type <> 'created' ORDER BY id",
            t=ticket_id,
        )
        assert {h.change_type for h in history} == {
            "priority_changed",
            "tags_changed",
            "message_added",
        }
        assert {h.changed_by for h in history} == {None}
        assert {h.request_id.rsplit(":", 1)[0] for h in history} == {f"rule:{rule_id}:0"}
        audit = await rows(
            live,
            "SELECT DISTINCT actor_type, request_id FROM audit_log WHERE entity_id = :t"
            " AND action = 'ticket.updated'",
            t=str(ticket_id),
        )
        assert [(a.actor_type, a.request_id.startswith(f"rule:{rule_id}:0:")) for a in audit] == [
            ("rule", True)
        ]
        note = await rows(
            live,
            "SELECT message, is_internal, sender_type, sender_id FROM conversations WHERE ticket_id = :t",
            t=ticket_id,
        )
        assert [(n.is_internal, n.sender_type, n.sender_id) for n in note] == [
            (True, "system", None)
        ]
        assert note[0].message.startswith("VIP #")
        log = await rows(
            live, "SELECT status, effects, depth FROM rule_executions WHERE rule_id = :r", r=rule_id
        )
        assert [(e.status, e.depth) for e in log] == [("applied", 0)]
        assert [e["type"] for e in log[0].effects] == ["set", "tags", "internal_note"]

        # a customer never sees the rule's internal note
        customer_principal = Principal(customer.id, Role.customer, frozenset(Scope))
        async with live.unit_of_work() as uow:
            page = await conversation_service.list_messages(
                uow, customer_principal, ticket_id, 25, None, SECRET
            )
        assert page.rows == []

        # running again (a restart) executes nothing twice
        async with live.transaction() as s:
            await s.execute(text("UPDATE rule_feed_cursor SET xid = 0, event_id = 0"))
        await drain(runner(live))
        assert (
            len(await rows(live, "SELECT 1 FROM rule_executions WHERE rule_id = :r", r=rule_id))
            == 1
        )
        assert (
            len(await rows(live, "SELECT 1 FROM conversations WHERE ticket_id = :t", t=ticket_id))
            == 1
        )

    async def test_a_rule_never_fires_on_its_own_change(self, live: Database):
        rule_id = await add_rule(
            live,
            name="tag every update",
            conditions={
                "all": [
                    {"field": "event", "op": "in", "value": ["ticket.created", "ticket.updated"]}
                ]
            },
            actions=[
                {"type": "add_tags", "tags": ["seen"]},
                {"type": "set", "field": "status", "value": "open"},
            ],
        )
        ticket_id, _ = await new_ticket(live)
        await drain(runner(live))
        log = await rows(
            live, "SELECT event_id, status FROM rule_executions WHERE rule_id = :r", r=rule_id
        )
        assert [e.status for e in log] == ["applied"]  # not again for the event it caused
        events = await rows(
            live, "SELECT request_id FROM events WHERE ticket_id = :t ORDER BY id", t=ticket_id
        )
        by_rule = {e.request_id for e in events if (e.request_id or "").startswith("rule:")}
        assert len(by_rule) == 1  # one execution (its two changes are two events)

    async def test_a_loop_between_two_rules_stops_at_the_depth_limit(self, live: Database):
        ping = await add_rule(
            live,
            name="ping",
            position=1,
            conditions={"all": [{"field": "priority", "op": "ne", "value": "high"}]},
            actions=[{"type": "set", "field": "priority", "value": "high"}],
        )
        pong = await add_rule(
            live,
            name="pong",
            position=2,
            conditions={"all": [{"field": "priority", "op": "eq", "value": "high"}]},
            actions=[{"type": "set", "field": "priority", "value": "low"}],
        )
        ticket_id, _ = await new_ticket(live, "loop")
        await drain(runner(live, max_depth=3))
        log = await rows(
            live,
            "SELECT rule_id, depth, status, reason FROM rule_executions ORDER BY id",
        )
        # Later rules see what earlier ones did to the same event (both run at depth 0 on the
        # creation); each change by one wakes the other one level deeper, never itself.
        applied = [(r.rule_id, r.depth) for r in log if r.status == "applied"]
        assert applied == [(ping, 0), (pong, 0), (ping, 1), (pong, 2)]
        skipped = [r for r in log if r.status == "skipped"]
        assert [(r.rule_id, r.depth) for r in skipped] == [(ping, 3)]
        assert skipped[0].reason.startswith("depth limit 3 reached")
        assert f"rule:{pong}:2:" in skipped[0].reason
        versions = await rows(live, "SELECT version FROM tickets WHERE id = :t", t=ticket_id)
        assert versions[0].version == 5  # created, then four rule changes

    async def test_a_failing_rule_is_disabled_with_its_reason(self, live: Database):
        async with live.transaction() as s:
            team = await team_service.create_team(s, SYSTEM_PRINCIPAL, TeamCreate(name="Empty"))
        rule_id = await add_rule(
            live,
            name="route",
            conditions={"all": [{"field": "event", "op": "eq", "value": "ticket.created"}]},
            actions=[
                {"type": "add_tags", "tags": ["routed"]},
                {"type": "assign_round_robin", "team_id": str(team.id)},
            ],
        )
        ticket_id, _ = await new_ticket(live)
        await drain(runner(live))
        rule = (
            await rows(live, "SELECT enabled, disabled_reason FROM rules WHERE id = :r", r=rule_id)
        )[0]
        assert rule.enabled is False
        assert "no active member" in rule.disabled_reason
        log = await rows(
            live, "SELECT status, reason FROM rule_executions WHERE rule_id = :r", r=rule_id
        )
        assert [e.status for e in log] == ["failed"]
        assert "no active member" in log[0].reason
        tags = await rows(live, "SELECT tags FROM tickets WHERE id = :t", t=ticket_id)
        assert tags[0].tags == []  # the rule's effects rolled back as one

    async def test_round_robin_takes_turns(self, live: Database):
        async with live.transaction() as s:
            a = await make_user(s, Role.agent)
            b = await make_user(s, Role.agent)
            team = await team_service.create_team(
                s, SYSTEM_PRINCIPAL, TeamCreate(name="Desk", member_ids=[a.id, b.id])
            )
        await add_rule(
            live,
            name="route",
            conditions={"all": [{"field": "event", "op": "eq", "value": "ticket.created"}]},
            actions=[{"type": "assign_round_robin", "team_id": str(team.id)}],
        )
        tickets = [(await new_ticket(live, f"t{i}"))[0] for i in range(3)]
        # one lane: turns follow feed order (with lanes, tickets run side by side and the
        # turns are taken in the order their transactions reach the team's lock)
        await drain(runner(live, concurrency=1))
        assigned = [
            (await rows(live, "SELECT assigned_to, team_id FROM tickets WHERE id = :t", t=t))[0]
            for t in tickets
        ]
        first, second = sorted([a.id, b.id])
        assert [x.assigned_to for x in assigned] == [first, second, first]
        assert {x.team_id for x in assigned} == {team.id}

    async def test_least_loaded_with_two_workers_counts_each_assignment(self, live: Database):
        async with live.transaction() as s:
            a = await make_user(s, Role.agent)
            b = await make_user(s, Role.agent)
            team = await team_service.create_team(
                s, SYSTEM_PRINCIPAL, TeamCreate(name="Desk", member_ids=[a.id, b.id])
            )
        busy = [(await new_ticket(live, f"a{i}"))[0] for i in range(2)]
        async with live.transaction() as s:
            await s.execute(
                text("UPDATE tickets SET assigned_to = :a WHERE id = ANY(CAST(:t AS uuid[]))"),
                {"a": a.id, "t": busy},
            )
        clock = FakeClock()
        feed = runner(live, clock, owner="feed")
        await drain(feed)  # past the set-up's events
        # A time rule, so that two workers run assignments at the same time: its timers are
        # fired by any worker (the feed has one consumer).
        rule_id = await add_rule(
            live,
            name="route stale",
            conditions={
                "all": [
                    {"field": "assigned_to", "op": "not_exists"},
                    {
                        "field": "time.created",
                        "op": "older_than",
                        "value": {"amount": 5, "unit": "minutes"},
                    },
                ]
            },
            actions=[{"type": "assign", "team_id": str(team.id), "strategy": "least_loaded"}],
        )
        new = [(await new_ticket(live, f"n{i}"))[0] for i in range(4)]
        await drain(feed)
        clock.advance(minutes=6)
        one, two = runner(live, clock, owner="w1"), runner(live, clock, owner="w2")
        await asyncio.gather(timers.fire_due(one), timers.fire_due(two))
        loads = {
            r.assigned_to: r.n
            for r in await rows(
                live,
                "SELECT assigned_to, count(*) AS n FROM tickets WHERE assigned_to IS NOT NULL"
                " GROUP BY assigned_to",
            )
        }
        # b first (0 < 2), twice; then a tie at 2 each and one more to each: 3 and 3 whatever
        # the order (without the team lock, both workers could count b as least loaded).
        assert loads == {a.id: 3, b.id: 3}
        log = await rows(
            live, "SELECT status, effects FROM rule_executions WHERE rule_id = :r", r=rule_id
        )
        assert len(log) == 4
        assert {e.status for e in log} == {"applied"}
        assert all(e.effects[0]["team_id"] == str(team.id) for e in log)
        assigned = await rows(
            live, "SELECT team_id FROM tickets WHERE id = ANY(CAST(:t AS uuid[]))", t=new
        )
        assert {x.team_id for x in assigned} == {team.id}

    async def test_once_per_ticket_runs_once(self, live: Database):
        rule_id = await add_rule(
            live,
            name="first touch",
            once_per_ticket=True,
            conditions={"all": [{"field": "event", "op": "eq", "value": "ticket.updated"}]},
            actions=[{"type": "internal_note", "body": "first change of #{{ ticket.number }}"}],
        )
        ticket_id, _ = await new_ticket(live, "touched twice")
        for priority in ("high", "low"):
            async with live.transaction() as s:
                await s.execute(
                    text("UPDATE tickets SET priority = :p WHERE id = :t"),
                    {"p": priority, "t": ticket_id},
                )
        await drain(runner(live))
        log = await rows(
            live,
            "SELECT status, reason FROM rule_executions WHERE rule_id = :r ORDER BY id",
            r=rule_id,
        )
        assert [(e.status, e.reason) for e in log] == [
            ("applied", None),
            ("skipped", "runs once per ticket: ran before"),
        ]

    async def test_two_workers_execute_each_event_once(self, live: Database):
        rule_id = await add_rule(
            live,
            name="note",
            conditions={"all": [{"field": "event", "op": "eq", "value": "ticket.created"}]},
            actions=[{"type": "internal_note", "body": "hello {{ customer.name }}"}],
        )
        tickets = [(await new_ticket(live, f"t{i}"))[0] for i in range(5)]
        clock = FakeClock()
        one, two = (
            runner(live, clock, owner="w1", batch=2),
            runner(live, clock, owner="w2", batch=2),
        )
        # Both at once: one holds the lease, the other finds it taken.
        await asyncio.gather(drain(one), drain(two))
        # A crash after executing, before advancing: the cursor is back, the lease expired.
        async with live.transaction() as s:
            await s.execute(text("UPDATE rule_feed_cursor SET xid = 0, event_id = 0"))
        clock.advance(minutes=5)
        await asyncio.gather(drain(two), drain(one))
        log = await rows(
            live, "SELECT event_id, status FROM rule_executions WHERE rule_id = :r", r=rule_id
        )
        assert len(log) == 5
        assert {e.status for e in log} == {"applied"}
        notes = await rows(
            live,
            "SELECT ticket_id, count(*) AS n FROM conversations GROUP BY ticket_id",
        )
        assert {n.ticket_id: n.n for n in notes} == {t: 1 for t in tickets}


class TestActions:
    async def test_metadata_tags_reply_and_webhook_actions(self, live: Database):
        from helpline.webhook import service as webhook_service
        from helpline.webhook.schemas import WebhookCreate

        async with live.transaction() as s:
            endpoint, _secret = await webhook_service.create_endpoint(
                s,
                SYSTEM_PRINCIPAL,
                WebhookCreate(url="http://127.0.0.1:9/hook", event_types=["metadata.changed"]),
                allowed_hosts=["127.0.0.1"],
            )
        rule_id = await add_rule(
            live,
            name="all actions",
            conditions={"all": [{"field": "event", "op": "eq", "value": "ticket.created"}]},
            actions=[
                {"type": "add_tags", "tags": ["a", "b"]},
                {"type": "remove_tags", "tags": ["a"]},
                {"type": "set_metadata", "key": "source", "value": {"rule": True}},
                {"type": "reply", "body": "We got #{{ ticket.number }}, {{ customer.name }}."},
                {"type": "webhook", "endpoint_id": str(endpoint.id)},
            ],
        )
        ticket_id, customer = await new_ticket(live)
        await drain(runner(live))
        ticket = (await rows(live, "SELECT tags FROM tickets WHERE id = :t", t=ticket_id))[0]
        assert ticket.tags == ["b"]
        metadata = await rows(
            live, "SELECT key, value FROM ticket_metadata WHERE ticket_id = :t", t=ticket_id
        )
        assert [(m.key, m.value) for m in metadata] == [("source", {"rule": True})]
        reply = await rows(
            live,
            "SELECT message, is_internal, sender_type FROM conversations WHERE ticket_id = :t",
            t=ticket_id,
        )
        assert [(r.is_internal, r.sender_type) for r in reply] == [(False, "system")]
        assert reply[0].message.endswith(f"{customer.name}.")
        created = await rows(
            live,
            "SELECT id FROM events WHERE ticket_id = :t AND type = 'ticket.created'",
            t=ticket_id,
        )
        deliveries = await rows(
            live, "SELECT event_id FROM webhook_deliveries WHERE endpoint_id = :e", e=endpoint.id
        )
        # the event that fired the rule, by the action (its types filter is not asked), and the
        # metadata change the rule made, by the endpoint's own subscription
        assert created[0].id in [d.event_id for d in deliveries]
        log = await rows(live, "SELECT effects FROM rule_executions WHERE rule_id = :r", r=rule_id)
        assert [e["type"] for e in log[0].effects] == [
            "tags",
            "tags",
            "set_metadata",
            "reply",
            "webhook",
        ]

    async def test_a_rule_over_its_rate_is_disabled(self, live: Database):
        rule_id = await add_rule(
            live,
            name="limited",
            max_per_hour=2,
            conditions={"all": [{"field": "event", "op": "eq", "value": "ticket.created"}]},
            actions=[{"type": "add_tags", "tags": ["x"]}],
        )
        for i in range(3):
            await new_ticket(live, f"t{i}")
        await drain(runner(live))
        log = await rows(
            live, "SELECT status FROM rule_executions WHERE rule_id = :r ORDER BY id", r=rule_id
        )
        assert [e.status for e in log] == ["applied", "applied", "failed"]
        rule = (
            await rows(live, "SELECT enabled, disabled_reason FROM rules WHERE id = :r", r=rule_id)
        )[0]
        assert rule.enabled is False
        assert "rate exceeded" in rule.disabled_reason
