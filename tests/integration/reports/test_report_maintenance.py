"""The assignee-only grain, purged tickets leaving the rollups, and a new zone's rollups built
by the maintenance job without a manual backfill."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from helpline.auth.principal import SYSTEM_PRINCIPAL
from helpline.config import Settings
from helpline.db import Database, make_engine
from helpline.kit.clock import utcnow
from helpline.models.enums import Role
from helpline.report import recorder, runner
from helpline.report import service as report_service
from helpline.report.rollup import NIL
from helpline.report.rollups import grain_for
from helpline.report.schemas import Scope, VolumeGroup
from helpline.sla import service as sla_service
from helpline.sla.schemas import CalendarCreate
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_message, make_ticket, make_user
from tests.integration.reports.test_report_figures import (  # noqa: F401 (fixture)
    BERLIN,
    H,
    get,
    tickets,
)
from tests.integration.reports.test_report_rollups import REPORTS, both, same_figures

pytestmark = pytest.mark.integration

DAY = Scope(datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC), "day", "UTC")


class TestAssigneeGrain:
    def test_the_coarsest_grain_with_the_filters(self):
        agent = SYSTEM_PRINCIPAL.user_id
        assert grain_for(DAY) == 0
        assert grain_for(replace(DAY, priority="high")) == 1
        assert grain_for(DAY, by_key=True) == 1
        assert grain_for(replace(DAY, agent=agent)) == 3
        assert grain_for(DAY, by_assignee=True) == 3
        assert grain_for(replace(DAY, agent=agent, team=agent)) == 2
        assert grain_for(replace(DAY, priority="low"), by_assignee=True) == 2

    async def test_grain_3_is_grain_2_summed_by_assignee(self, session, tickets):  # noqa: F811
        def rows(grain: int, group: str) -> str:
            return (
                f"SELECT zone, kind, assignee_id, day, sum(n), sum(cal_n), sum(cal_sum),"
                f" sum(bus_n), sum(bus_sum) FROM report_rollups WHERE grain = {grain}"
                f" GROUP BY {group} HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4"
            )

        group = "zone, kind, assignee_id, day"
        two = (await session.execute(text(rows(2, group)))).all()
        three = (await session.execute(text(rows(3, group)))).all()
        assert two
        assert [tuple(r) for r in three] == [tuple(r) for r in two]
        keys = await session.execute(
            text(
                "SELECT DISTINCT priority, team_id, mailbox_id, channel FROM report_rollups"
                " WHERE grain = 3"
            )
        )
        assert [tuple(k) for k in keys] == [("", NIL, NIL, "")]

    async def test_volume_by_agent_and_the_agent_filter_read_it(
        self,
        client,
        cast: Cast,
        session,
        tickets,  # noqa: F811
    ):
        await session.execute(
            text("UPDATE tickets SET assigned_to = :agent WHERE id = ANY(:ids)"),
            {"agent": cast.agent.id, "ids": [tickets["a"], tickets["b"]]},
        )
        await recorder.record_facts(session, list(tickets.values()))
        volume, facts = await both(client, cast, "volume", {**BERLIN, "group_by": "agent"})
        assert volume["source"] == "rollup"
        same_figures(volume, facts)
        tue = volume["buckets"][0]
        assert tue["groups"] == [
            {"key": str(cast.agent.id), "tickets": 2},
            {"key": None, "tickets": 2},
        ]
        mine = {**BERLIN, "agent": str(cast.agent.id)}
        for report, extra in REPORTS:
            rollup, facts = await both(client, cast, report, {**mine, **extra})
            assert rollup["source"] == "rollup"
            same_figures(rollup, facts)
        first = await get(client, cast, "first-response", mine)
        assert [(b["tickets"], b["calendar"]["avg"]) for b in first["buckets"]] == [
            (1, H),
            (1, 18 * H),
        ]


class TestPurgedTickets:
    async def test_a_purged_ticket_leaves_the_rollups(self, client, cast, session, tickets):  # noqa: F811
        b = tickets["b"]  # high, answered Wed after 18 h
        before = await get(client, cast, "first-response", {**BERLIN, "priority": "high"})
        assert [x["tickets"] for x in before["buckets"]] == [1]
        await session.execute(text("DELETE FROM tickets WHERE id = :id"), {"id": b})
        # No feed event says so; the facts stay (no cascade) until the rollups withdraw them.
        assert await recorder.withdraw_purged(session) == 1
        high = await get(client, cast, "first-response", {**BERLIN, "priority": "high"})
        assert (high["source"], high["buckets"]) == ("rollup", [])
        for report, extra in REPORTS:
            same_figures(*await both(client, cast, report, {**BERLIN, **extra}))
        left = await session.execute(
            text(
                "SELECT (SELECT count(*) FROM ticket_metric_facts WHERE ticket_id = :id),"
                " (SELECT count(*) FROM ticket_rollup_states WHERE ticket_id = :id)"
            ),
            {"id": b},
        )
        assert tuple(left.one()) == (0, 0)
        assert await recorder.withdraw_purged(session) == 0


# -- the hourly job, on a committed database -----------------------------------------------------
@pytest.fixture
def committed_url(make_database) -> str:
    return make_database()


@pytest.fixture
async def database(committed_url: str, settings: Settings):
    db = Database(make_engine(committed_url, settings, pool_size=4))
    yield db
    await db.dispose()


async def test_maintenance_builds_a_new_zone_and_withdraws_purged_tickets(database) -> None:
    async with database.transaction() as s:
        customer = await make_user(s)
        agent = await make_user(s, Role.agent)
        tickets = [await make_ticket(s, customer.id) for _ in range(6)]
        for t in tickets[:4]:
            await make_message(s, t, agent.id, sender_type="agent")
    await runner.follow_feed(database)
    async with database.transaction() as s:
        await sla_service.create_calendar(
            s,
            SYSTEM_PRINCIPAL,
            CalendarCreate(
                name="Tokyo",
                time_zone="Asia/Tokyo",
                intervals=[{"weekday": d, "start": "09:00", "end": "18:00"} for d in range(5)],
            ),
            now=utcnow(),
        )
        await s.execute(text("DELETE FROM tickets WHERE id = :id"), {"id": tickets[0]})
    await runner.follow_feed(database)  # learns the zone: kept from now on, not ready
    zone = ZoneInfo("Asia/Tokyo")
    midnight = datetime.combine(datetime.now(zone).date(), time(0), tzinfo=zone)
    scope = Scope(midnight - timedelta(days=2), midnight + timedelta(days=2), "day", "Asia/Tokyo")

    async def report(sc: Scope) -> dict:
        async with database.transaction() as s:
            body = await report_service.volume_report(s, SYSTEM_PRINCIPAL, sc, VolumeGroup.agent)
            return body.model_dump(mode="json")

    assert (await report(scope))["source"] == "facts"
    done = await runner.maintain(database, batch=4)
    assert (done.purged, done.built) == (1, ["Asia/Tokyo"])
    served, facts = await report(scope), await report(replace(scope, source="facts"))
    assert served["source"] == "rollup"
    assert sum(b["tickets"] for b in served["buckets"]) == 5  # the purged one left
    same_figures(served, facts)
    again = await runner.maintain(database, batch=4)
    assert (again.purged, again.built) == (0, [])
