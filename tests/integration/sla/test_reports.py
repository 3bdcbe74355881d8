"""Reports against hand-computed fixtures: notes and automatic messages are no response, paused
and solved time is left out of clock time, a reopened ticket counts once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from helpline.kit.ids import new_id
from helpline.models import TicketHistory
from helpline.report import recorder
from helpline.sla import service
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_message, make_ticket

pytestmark = pytest.mark.integration

H, M = 3600, 60
T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
POLICY = {
    "name": "Calendar time",
    "position": 0,
    "targets": {
        "normal": {
            "first_response": {"seconds": 4 * H, "business": False},
            "resolution": {"seconds": 24 * H, "business": False},
        }
    },
}


async def status(session, ticket: uuid.UUID, old: str, new: str, at: datetime) -> None:
    await session.execute(
        insert(TicketHistory).values(
            ticket_id=ticket,
            change_type="status_changed",
            old_value=old,
            new_value=new,
            timestamp=at,
            change_set_id=new_id(),
        )
    )


@pytest.fixture
async def fixtures(client, cast: Cast, session) -> list[uuid.UUID]:
    r = await client.post("/api/v1/sla-policies", json=POLICY, headers=cast.admin.headers)
    assert r.status_code == 201, r.text
    agent, alice = cast.agent.id, cast.alice.id
    a, b, c, d = [await make_ticket(session, alice, created_at=T0) for _ in range(4)]
    # a: an internal note at +1 min and an automatic message at +2 min, then a reply at +10.
    await make_message(
        session,
        a,
        agent,
        sender_type="agent",
        is_internal=True,
        timestamp=T0 + timedelta(minutes=1),
    )
    await make_message(session, a, None, sender_type="system", timestamp=T0 + timedelta(minutes=2))
    await make_message(session, a, agent, sender_type="agent", timestamp=T0 + timedelta(minutes=10))
    # b: a reply at +30 min.
    await make_message(session, b, agent, sender_type="agent", timestamp=T0 + timedelta(minutes=30))
    # c: pending from +10 to +40, reply at +60: 60 min wall, 30 min on the clock.
    await status(session, c, "new", "pending", T0 + timedelta(minutes=10))
    await status(session, c, "pending", "open", T0 + timedelta(minutes=40))
    await make_message(session, c, agent, sender_type="agent", timestamp=T0 + timedelta(minutes=60))
    # d: reply at +50 min; solved at +1 h, reopened at +3 h,
    # solved again at +4 h: resolution 4 h wall, 2 h on the clock, counted once.
    await make_message(session, d, agent, sender_type="agent", timestamp=T0 + timedelta(minutes=50))
    await status(session, d, "new", "solved", T0 + timedelta(hours=1))
    await status(session, d, "solved", "open", T0 + timedelta(hours=3))
    await status(session, d, "open", "solved", T0 + timedelta(hours=4))
    await session.flush()
    await service.derive_tickets(session, [a, b, c, d], T0 + timedelta(days=2))
    await recorder.record_facts(session, [a, b, c, d])
    return [a, b, c, d]


PERIOD = {"period_start": "2026-11-01T00:00:00Z", "period_end": "2026-12-01T00:00:00Z"}
# Exact percentiles and the SLA clock figures come from the facts (the rollups give neither).
EXACT = {**PERIOD, "source": "facts"}


class TestFirstResponse:
    async def test_hand_computed(self, client, cast: Cast, fixtures) -> None:
        r = await client.get(
            "/api/v1/reports/first-response", params=EXACT, headers=cast.agent.headers
        )
        assert r.status_code == 200, r.text
        (bucket,) = r.json()["buckets"]
        assert bucket["start"] == "2026-11-03T00:00:00Z"
        assert bucket["tickets"] == 4
        # wall minutes 10, 30, 60, 50; clock minutes 10, 30, 30, 50
        assert bucket["calendar"]["avg"] == 37.5 * M
        assert bucket["calendar"]["p50"] == 40 * M
        assert bucket["clock"]["avg"] == 30 * M
        assert bucket["clock"]["p50"] == 30 * M
        assert "internal notes and automatic messages do not count" in r.json()["definition"]

    async def test_month_buckets_in_a_zone(self, client, cast: Cast, fixtures) -> None:
        params = {**PERIOD, "interval": "month", "time_zone": "America/New_York"}
        r = await client.get(
            "/api/v1/reports/first-response", params=params, headers=cast.agent.headers
        )
        (bucket,) = r.json()["buckets"]
        assert bucket["start"] == "2026-11-01T04:00:00Z"  # midnight in New York (EDT)
        assert bucket["tickets"] == 4


class TestResolution:
    async def test_reopened_ticket_counts_once_without_solved_time(
        self, client, cast: Cast, fixtures
    ) -> None:
        r = await client.get("/api/v1/reports/resolution", params=EXACT, headers=cast.agent.headers)
        (bucket,) = r.json()["buckets"]
        assert bucket["tickets"] == 1
        assert bucket["calendar"]["avg"] == 4 * H
        assert bucket["clock"]["avg"] == 2 * H


class TestAccess:
    async def test_customers_refused_and_periods_checked(self, client, cast: Cast) -> None:
        r = await client.get(
            "/api/v1/reports/first-response", params=PERIOD, headers=cast.alice.headers
        )
        assert r.status_code == 403
        bad = {"period_start": "2026-11-01T00:00:00Z", "period_end": "2026-10-01T00:00:00Z"}
        r = await client.get(
            "/api/v1/reports/first-response", params=bad, headers=cast.agent.headers
        )
        assert r.status_code == 422
        r = await client.get(
            "/api/v1/reports/first-response",
            params={**PERIOD, "time_zone": "Nowhere/Else"},
            headers=cast.agent.headers,
        )
        assert r.status_code == 422
