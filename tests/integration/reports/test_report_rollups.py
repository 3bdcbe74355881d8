"""Reports from the daily rollups: the hand-computed Berlin figures again (counts and sums
exact, percentiles within the histogram's error), the same as from the facts, tickets moving
between keys, and the rollups exact under two workers, retries and a backfill."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from helpline.auth.principal import SYSTEM_PRINCIPAL
from helpline.config import Settings
from helpline.db import Database, make_engine
from helpline.models.enums import Role
from helpline.report import recorder, runner
from helpline.report import service as report_service
from helpline.report.histogram import RELATIVE_ERROR
from helpline.report.schemas import Scope, VolumeGroup
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_message, make_ticket, make_user
from tests.integration.reports.test_report_figures import (  # noqa: F401 (fixture)
    BERLIN,
    UTC_PERIOD,
    H,
    get,
    tickets,
)

pytestmark = pytest.mark.integration

REPORTS = [
    ("first-response", {}),
    ("resolution", {"measure": "first"}),
    ("resolution", {"measure": "full"}),
    ("backlog", {}),
    ("reopens", {}),
    ("volume", {"group_by": "channel"}),
    ("volume", {"group_by": "priority"}),
    ("volume", {"group_by": "agent"}),
]
PERCENTILES = ("p50", "p90")


def same_figures(rollup: Any, facts: Any, path: str = "") -> None:
    """Equal, except that percentiles may differ by the histogram's relative error and the
    rollups have no SLA clock figures."""
    if isinstance(rollup, dict):
        assert rollup.keys() == facts.keys(), path
        for k in rollup:
            if k in ("source", "approximate"):
                continue
            if k == "clock":
                assert rollup[k] == {"avg": None, "p50": None, "p90": None}, path
                continue
            if k in PERCENTILES and rollup[k] is not None and facts[k] is not None:
                assert abs(rollup[k] - facts[k]) <= RELATIVE_ERROR * facts[k] + 1e-3, f"{path}.{k}"
                continue
            same_figures(rollup[k], facts[k], f"{path}.{k}")
    elif isinstance(rollup, list):
        assert len(rollup) == len(facts), path
        for i, (a, b) in enumerate(zip(rollup, facts, strict=True)):
            same_figures(a, b, f"{path}[{i}]")
    else:
        assert rollup == facts, path


async def both(client, cast: Cast, report: str, params: dict) -> tuple[dict, dict]:
    rollup = await get(client, cast, report, params)
    facts = await get(client, cast, report, {**params, "source": "facts"})
    assert facts["source"] == "facts"
    return rollup, facts


class TestBerlinFixtureFromRollups:
    @pytest.mark.parametrize(("report", "extra"), REPORTS)
    @pytest.mark.parametrize(
        "scope",
        [
            BERLIN,
            UTC_PERIOD,
            {**BERLIN, "interval": "week"},
            {**UTC_PERIOD, "interval": "month"},
            {**BERLIN, "priority": "high"},
        ],
    )
    async def test_rollups_and_facts_agree(self, client, cast, tickets, report, extra, scope):  # noqa: F811
        rollup, facts = await both(client, cast, report, {**scope, **extra})
        assert rollup["source"] == "rollup"
        assert rollup["approximate"] is (report in ("first-response", "resolution"))
        same_figures(rollup, facts)

    async def test_hand_computed_figures(self, client, cast, tickets):  # noqa: F811
        body = await get(client, cast, "first-response", BERLIN)
        assert body["source"] == "rollup"
        tue, wed = body["buckets"]
        assert (tue["tickets"], tue["calendar"]["avg"], tue["business"]["avg"]) == (1, H, H)
        assert (wed["calendar"]["avg"], wed["business"]["avg"]) == (18 * H, 2 * H)
        assert abs(wed["calendar"]["p50"] - 18 * H) <= RELATIVE_ERROR * 18 * H
        full = await get(client, cast, "resolution", BERLIN)
        tue, wed = full["buckets"]
        assert (tue["tickets"], tue["calendar"]["avg"]) == (1, 9.5 * H)
        assert (wed["tickets"], wed["calendar"]["avg"], wed["business"]["avg"]) == (
            1,
            28 * H,
            12 * H,
        )
        backlog = await get(client, cast, "backlog", BERLIN)
        assert [
            (b["created"], b["reopened"], b["solved"], b["backlog"]) for b in backlog["buckets"]
        ] == [
            (0, 0, 0, 0),
            (4, 0, 2, 2),
            (0, 1, 1, 2),
        ]
        later = await get(
            client,
            cast,
            "backlog",
            {"period_start": "2026-11-04T00:00:00Z", "period_end": "2026-11-05T00:00:00Z"},
        )
        assert (later["source"], later["opening"]) == ("rollup", 2)
        reopens = await get(client, cast, "reopens", BERLIN)
        tue, wed = reopens["buckets"]
        assert (tue["solved"], tue["reopened_tickets"], tue["reopen_rate"]) == (2, 1, 0.5)
        assert (wed["reopens"], wed["reopen_after_avg"]) == (1, 24 * H)

    async def test_facts_when_rollups_cannot_answer(self, client, cast, tickets):  # noqa: F811
        body = await get(client, cast, "first-response", {**BERLIN, "metadata.plan": "pro"})
        assert (body["source"], body["approximate"]) == ("facts", False)
        midday = {**BERLIN, "period_start": "2026-11-02T12:00:00+01:00"}
        assert (await get(client, cast, "backlog", midday))["source"] == "facts"
        tokyo = {**UTC_PERIOD, "time_zone": "Asia/Tokyo"}  # no calendar there: no rollups
        assert (await get(client, cast, "volume", tokyo))["source"] == "facts"
        attainment = await get(client, cast, "sla-attainment", BERLIN)
        assert attainment["source"] == "clocks"


class TestTicketsMoveBetweenKeys:
    async def test_reprioritised_reassigned_and_deleted(self, client, cast, session, tickets):  # noqa: F811
        b = tickets["b"]  # high, answered Wed
        await session.execute(
            text("UPDATE tickets SET priority = 'low', assigned_to = :agent WHERE id = :id"),
            {"agent": cast.agent.id, "id": b},
        )
        await recorder.record_facts(session, [b])
        high = await get(client, cast, "first-response", {**BERLIN, "priority": "high"})
        low = await get(client, cast, "first-response", {**BERLIN, "priority": "low"})
        mine = await get(client, cast, "first-response", {**BERLIN, "agent": str(cast.agent.id)})
        assert high["buckets"] == []
        assert [(x["tickets"], x["calendar"]["avg"]) for x in low["buckets"]] == [(1, 18 * H)]
        assert [x["tickets"] for x in mine["buckets"]] == [1]
        assert {low["source"], mine["source"], high["source"]} == {"rollup"}
        for report, extra in REPORTS:
            for scope in ({**BERLIN, "priority": "low"}, {**BERLIN, "agent": str(cast.agent.id)}):
                same_figures(*await both(client, cast, report, {**scope, **extra}))
        await session.execute(
            text("UPDATE tickets SET deleted_at = now() WHERE id = :id"), {"id": b}
        )
        await recorder.record_facts(session, [b])
        assert (await get(client, cast, "first-response", {**BERLIN, "priority": "low"}))[
            "buckets"
        ] == []
        same_figures(*await both(client, cast, "backlog", BERLIN))

    async def test_a_repeated_sync_changes_nothing(self, session, tickets):  # noqa: F811
        before = await snapshot(session)
        assert await recorder.record_facts(session, list(tickets.values())) == 0
        assert await snapshot(session) == before


async def snapshot(session) -> list[tuple]:
    rows = await session.execute(
        text(
            "SELECT zone, grain, kind, assignee_id, day, priority, team_id, mailbox_id, channel,"
            " n, cal_n, cal_sum, bus_n, bus_sum FROM report_rollups"
            " WHERE n <> 0 OR cal_n <> 0 OR bus_n <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9"
        )
    )
    bins = await session.execute(
        text(
            "SELECT zone, grain, kind, assignee_id, day, priority, team_id, mailbox_id, channel,"
            " measure, bin, count FROM report_rollup_bins WHERE count <> 0"
            " ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11"
        )
    )
    return [tuple(r) for r in rows] + [tuple(r) for r in bins]


# -- two workers, retries and the backfill, on a committed database ------------------------------
@pytest.fixture
def committed_url(make_database) -> str:
    return make_database()


@pytest.fixture
async def databases(committed_url: str, settings: Settings):
    one = Database(make_engine(committed_url, settings, pool_size=4))
    two = Database(make_engine(committed_url, settings, pool_size=4))
    yield one, two
    await one.dispose()
    await two.dispose()


async def rows(db: Database) -> list[tuple]:
    async with db.transaction() as s:
        return await snapshot(s)


async def test_two_workers_and_a_backfill_keep_rollups_exact(databases) -> None:
    one, two = databases
    async with one.transaction() as s:
        customer = await make_user(s)
        agents = [await make_user(s, Role.agent) for _ in range(3)]
        tickets = [await make_ticket(s, customer.id) for _ in range(30)]
        for i, t in enumerate(tickets[10:]):
            await make_message(s, t, agents[i % 3].id, sender_type="agent")
    await asyncio.gather(runner.follow_feed(one, batch=7), runner.follow_feed(two, batch=7))
    async with one.transaction() as s:
        await s.execute(
            text("UPDATE tickets SET status = 'solved' WHERE id = ANY(:ids)"), {"ids": tickets[:12]}
        )
    async with one.transaction() as s:
        await s.execute(
            text("UPDATE tickets SET status = 'open', priority = 'urgent' WHERE id = ANY(:ids)"),
            {"ids": tickets[:4]},
        )
        await s.execute(
            text("UPDATE tickets SET assigned_to = :a WHERE id = ANY(:ids)"),
            {"a": agents[0].id, "ids": tickets[5:15]},
        )
    # Both workers, and a backfill racing them.
    await asyncio.gather(
        runner.follow_feed(one, batch=5),
        runner.follow_feed(two, batch=5),
        runner.backfill(two, batch=4),
    )
    live = await rows(one)
    assert live
    # Rebuilt from nothing, the rollups are the same rows.
    async with one.transaction() as s:
        await s.execute(text("DELETE FROM report_rollups"))
        await s.execute(text("DELETE FROM report_rollup_bins"))
        await s.execute(text("DELETE FROM ticket_rollup_states"))
    await runner.backfill(one, batch=8)
    assert await rows(one) == live
    # And a report from them equals the same report from the facts.
    async with one.transaction() as s:
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        for extra in ({}, {"priority": "urgent"}, {"agent": agents[0].id}):
            scope = Scope(
                today - timedelta(days=2), today + timedelta(days=2), "day", "UTC", **extra
            )
            for report in (
                lambda sc: report_service.backlog_report(s, SYSTEM_PRINCIPAL, sc),
                lambda sc: report_service.reopens_report(s, SYSTEM_PRINCIPAL, sc),
                lambda sc: report_service.first_response_report(s, SYSTEM_PRINCIPAL, sc),
                lambda sc: report_service.volume_report(s, SYSTEM_PRINCIPAL, sc, VolumeGroup.agent),
            ):
                got = (await report(scope)).model_dump(mode="json")
                want = (await report(replace(scope, source="facts"))).model_dump(mode="json")
                assert got["source"] == "rollup"
                same_figures(got, want)
