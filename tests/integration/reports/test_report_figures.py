"""Report figures against hand-computed fixtures, from the metric facts.

Calendar: Europe/Berlin, Monday-Friday 09:00-17:00 (CET = UTC+1 in November).
- a: created Tue 3 Nov 08:00Z (09:00 local); an internal note at +5 min and an automatic
  (system) message at +10 min, the first staff reply at 09:00Z: first response 1 h, 1 h business.
- b: created Tue 15:00Z (16:00 local), reply Wed 09:00Z (10:00 local): 18 h wall, 2 h business.
- c: created Tue 08:00Z, solved 10:00Z (2 h, 2 h business), reopened Wed 10:00Z, solved again
  Wed 12:00Z: full resolution 28 h wall, 8 h + 4 h = 12 h business. No reply.
- d: created Mon 2 Nov 23:30Z — Tue 00:30 in Berlin, Monday in UTC; only a rule's (system)
  reply; solved by a rule Tue 09:00Z: 9.5 h wall, 1 h business; never a first response.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, text

from helpline.kit.ids import new_id
from helpline.models import TicketHistory
from helpline.report import recorder
from helpline.sla import service as sla_service
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_message, make_metadata, make_ticket

pytestmark = pytest.mark.integration

H, M = 3600, 60
BERLIN = {
    "period_start": "2026-11-02T00:00:00+01:00",
    "period_end": "2026-11-05T00:00:00+01:00",
    "time_zone": "Europe/Berlin",
}
UTC_PERIOD = {"period_start": "2026-11-02T00:00:00Z", "period_end": "2026-11-05T00:00:00Z"}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


async def status(session, ticket, old, new, when, by=None) -> None:
    await session.execute(
        insert(TicketHistory).values(
            ticket_id=ticket,
            change_type="status_changed",
            old_value=old,
            new_value=new,
            timestamp=when,
            changed_by=by,
            change_set_id=new_id(),
        )
    )


@pytest.fixture
async def tickets(client, cast: Cast, session) -> dict[str, uuid.UUID]:
    calendar = {
        "name": "Berlin office",
        "time_zone": "Europe/Berlin",
        "intervals": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
    }
    r = await client.post("/api/v1/calendars", json=calendar, headers=cast.admin.headers)
    assert r.status_code == 201, r.text
    policy = {
        "name": "Business hours",
        "position": 0,
        "calendar_id": r.json()["id"],
        "targets": {
            p: {"first_response": {"seconds": 4 * H, "business": True}}
            for p in ("low", "normal", "high", "urgent")
        },
    }
    r = await client.post("/api/v1/sla-policies", json=policy, headers=cast.admin.headers)
    assert r.status_code == 201, r.text
    agent, alice = cast.agent.id, cast.alice.id
    a = await make_ticket(session, alice, created_at=at(3, 8))
    b = await make_ticket(session, alice, created_at=at(3, 15), priority="high")
    c = await make_ticket(session, alice, created_at=at(3, 8))
    d = await make_ticket(session, alice, created_at=at(2, 23, 30))
    await make_metadata(session, a, "plan", "pro")
    await make_message(
        session, a, agent, sender_type="agent", is_internal=True, timestamp=at(3, 8, 5)
    )
    await make_message(session, a, None, sender_type="system", timestamp=at(3, 8, 10))
    await make_message(session, a, agent, sender_type="agent", timestamp=at(3, 9))
    await make_message(session, b, agent, sender_type="agent", timestamp=at(4, 9))
    await make_message(session, c, alice, sender_type="customer", timestamp=at(3, 8, 30))
    await status(session, c, "new", "solved", at(3, 10), agent)
    await status(session, c, "solved", "open", at(4, 10), alice)
    await status(session, c, "open", "solved", at(4, 12), agent)
    await make_message(session, d, None, sender_type="system", timestamp=at(3, 0))
    await status(session, d, "new", "solved", at(3, 9), None)
    await session.flush()
    await recorder.record_facts(session, [a, b, c, d])
    return {"a": a, "b": b, "c": c, "d": d}


async def get(client, cast: Cast, report: str, params: dict) -> dict:
    r = await client.get(f"/api/v1/reports/{report}", params=params, headers=cast.agent.headers)
    assert r.status_code == 200, r.text
    return r.json()


class TestFacts:
    async def test_facts_are_written_once(self, session, tickets) -> None:
        again = await recorder.record_facts(session, list(tickets.values()))
        assert again == 0
        rows = (
            await session.execute(
                text(
                    "SELECT kind, seq, calendar_seconds, business_seconds FROM ticket_metric_facts"
                    " WHERE ticket_id = :c ORDER BY occurred_at, kind"
                ),
                {"c": tickets["c"]},
            )
        ).all()
        assert [tuple(r) for r in rows] == [
            ("created", 1, None, None),
            ("solved", 1, 2 * H, 2 * H),
            ("reopened", 1, 24 * H, 8 * H),  # Tue 11:00 → Wed 11:00 local: 6 h + 2 h
            ("solved", 2, 28 * H, 12 * H),
        ]

    async def test_a_calendar_change_leaves_written_facts_alone(
        self, client, cast, session, tickets
    ):
        calendars = (await client.get("/api/v1/calendars", headers=cast.admin.headers)).json()
        (calendar,) = calendars
        r = await client.patch(
            f"/api/v1/calendars/{calendar['id']}",
            json={
                "intervals": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]
            },
            headers=cast.admin.headers,
        )
        assert r.status_code == 200, r.text
        await recorder.record_facts(session, list(tickets.values()))
        body = await get(client, cast, "first-response", BERLIN)
        assert [b["business"]["avg"] for b in body["buckets"]] == [H, 2 * H]  # as written


class TestFirstResponse:
    async def test_notes_and_automatic_messages_are_no_response(self, client, cast, tickets):
        body = await get(client, cast, "first-response", BERLIN)
        assert [(b["start"], b["tickets"]) for b in body["buckets"]] == [
            ("2026-11-02T23:00:00Z", 1),  # a (Tue, local midnight = 23:00Z)
            ("2026-11-03T23:00:00Z", 1),  # b (Wed)
        ]
        tue, wed = body["buckets"]
        assert tue["calendar"]["avg"] == H
        assert tue["business"]["avg"] == H
        assert wed["calendar"]["avg"] == 18 * H
        assert wed["business"]["avg"] == 2 * H
        assert wed["business_tickets"] == 1

    async def test_filters(self, client, cast, tickets):
        body = await get(client, cast, "first-response", {**BERLIN, "priority": "high"})
        assert [b["calendar"]["avg"] for b in body["buckets"]] == [18 * H]
        body = await get(client, cast, "first-response", {**BERLIN, "metadata.plan": "pro"})
        assert [b["calendar"]["avg"] for b in body["buckets"]] == [H]
        body = await get(client, cast, "first-response", {**BERLIN, "agent": str(uuid.uuid4())})
        assert body["buckets"] == []


class TestResolution:
    async def test_first_and_full(self, client, cast, tickets):
        first = await get(client, cast, "resolution", {**BERLIN, "measure": "first"})
        (tue,) = first["buckets"]
        assert tue["tickets"] == 2  # c and d
        assert tue["calendar"]["avg"] == (2 * H + 9.5 * H) / 2
        assert tue["business"]["avg"] == (2 * H + 1 * H) / 2
        full = await get(client, cast, "resolution", BERLIN)
        assert full["measure"] == "full"
        tue, wed = full["buckets"]
        assert (tue["tickets"], tue["calendar"]["avg"]) == (1, 9.5 * H)  # d; c was reopened
        assert (wed["tickets"], wed["calendar"]["avg"], wed["business"]["avg"]) == (
            1,
            28 * H,
            12 * H,
        )


class TestBacklogAndReopens:
    async def test_backlog_in_berlin_days(self, client, cast, tickets):
        body = await get(client, cast, "backlog", BERLIN)
        assert body["opening"] == 0
        assert [
            (b["start"], b["created"], b["reopened"], b["solved"], b["backlog"])
            for b in body["buckets"]
        ] == [
            ("2026-11-01T23:00:00Z", 0, 0, 0, 0),
            ("2026-11-02T23:00:00Z", 4, 0, 2, 2),
            ("2026-11-03T23:00:00Z", 0, 1, 1, 2),
        ]

    async def test_backlog_in_utc_days_moves_the_late_ticket(self, client, cast, tickets):
        body = await get(client, cast, "backlog", UTC_PERIOD)
        assert [b["backlog"] for b in body["buckets"]] == [1, 2, 2]  # d is Monday in UTC
        later = await get(
            client,
            cast,
            "backlog",
            {"period_start": "2026-11-04T00:00:00Z", "period_end": "2026-11-05T00:00:00Z"},
        )
        assert later["opening"] == 2

    async def test_reopen_rate(self, client, cast, tickets):
        body = await get(client, cast, "reopens", BERLIN)
        tue, wed = body["buckets"]
        assert (tue["solved"], tue["reopened_tickets"], tue["reopen_rate"]) == (2, 1, 0.5)
        assert (wed["reopens"], wed["reopen_after_avg"]) == (1, 24 * H)


class TestVolumeAndCsv:
    async def test_volume_by_priority_and_channel(self, client, cast, tickets):
        body = await get(client, cast, "volume", {**BERLIN, "group_by": "priority"})
        (tue,) = body["buckets"]
        assert tue["tickets"] == 4
        assert tue["groups"] == [
            {"key": "high", "tickets": 1},
            {"key": "normal", "tickets": 3},
        ]
        body = await get(client, cast, "volume", UTC_PERIOD)
        assert [(b["start"], b["groups"]) for b in body["buckets"]] == [
            ("2026-11-02T00:00:00Z", [{"key": "api", "tickets": 1}]),
            ("2026-11-03T00:00:00Z", [{"key": "api", "tickets": 3}]),
        ]

    async def test_csv_by_query_and_by_accept(self, client, cast, tickets):
        r = await client.get(
            "/api/v1/reports/backlog",
            params={**BERLIN, "format": "csv"},
            headers=cast.agent.headers,
        )
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert [(row["start"], row["backlog"]) for row in rows] == [
            ("2026-11-01T23:00:00Z", "0"),
            ("2026-11-02T23:00:00Z", "2"),
            ("2026-11-03T23:00:00Z", "2"),
        ]
        r = await client.get(
            "/api/v1/reports/first-response",
            params=BERLIN,
            headers={**cast.agent.headers, "Accept": "text/csv"},
        )
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert rows[0]["calendar_avg"] == "3600.0"
        assert rows[1]["business_avg"] == "7200.0"


class TestAccess:
    @pytest.mark.parametrize(
        "report",
        ["first-response", "resolution", "backlog", "reopens", "sla-attainment", "volume"],
    )
    async def test_customers_refused_bad_input_422(self, client, cast, report):
        r = await client.get(f"/api/v1/reports/{report}", params=BERLIN, headers=cast.alice.headers)
        assert r.status_code == 403
        assert r.json()["type"] == "/problems/permission-denied"
        r = await client.get(
            f"/api/v1/reports/{report}",
            params={**BERLIN, "time_zone": "Nowhere/Else"},
            headers=cast.agent.headers,
        )
        assert r.status_code == 422
        assert r.json()["type"] == "/problems/validation-error"


class TestSlaAttainment:
    async def test_met_and_breached_by_outcome_time(self, client, cast, session, tickets):
        # e: created Tue 08:00Z, answered Wed 15:00Z: 15 business hours against 4: breached at
        # Tue 13:00 local (12:00Z).
        e = await make_ticket(session, cast.alice.id, created_at=at(3, 8))
        await make_message(session, e, cast.agent.id, sender_type="agent", timestamp=at(4, 15))
        await session.flush()
        await sla_service.derive_tickets(session, [*tickets.values(), e], at(6, 0))
        body = await get(client, cast, "sla-attainment", BERLIN)
        rows = [
            (b["start"], b["kind"], b["met"], b["breached"], b["attainment"], b["business"])
            for b in body["buckets"]
        ]
        assert rows == [
            ("2026-11-02T23:00:00Z", "first_response", 1, 1, 0.5, 2),  # a met, e breached
            ("2026-11-03T23:00:00Z", "first_response", 1, 0, 1.0, 1),  # b met
        ]


QUERY = """
query($start: DateTime!, $end: DateTime!) {
  reports(periodStart: $start, periodEnd: $end, timeZone: "Europe/Berlin",
          metadata: [{key: "plan", value: "pro"}]) {
    firstResponse { buckets { start tickets calendar { avg } business { avg } } }
  }
  all: reports(periodStart: $start, periodEnd: $end, timeZone: "Europe/Berlin") {
    resolution(measure: first) { measure buckets { tickets calendar { avg } } }
    backlog { opening buckets { backlog } }
    reopens { buckets { reopenRate } }
    volume(groupBy: priority) { buckets { groups { key tickets } } }
    slaAttainment { buckets { kind } }
  }
}
"""


class TestGraphql:
    async def test_same_figures_as_rest(self, client, cast, tickets):
        variables = {"start": BERLIN["period_start"], "end": BERLIN["period_end"]}
        r = await client.post(
            "/graphql",
            json={"query": QUERY, "variables": variables},
            headers=cast.agent.headers,
        )
        body = r.json()
        assert "errors" not in body, body
        first = body["data"]["reports"]["firstResponse"]["buckets"]
        assert first == [
            {
                "start": "2026-11-02T23:00:00+00:00",
                "tickets": 1,
                "calendar": {"avg": H},
                "business": {"avg": H},
            }
        ]
        every = body["data"]["all"]
        assert every["resolution"]["measure"] == "first"
        assert every["resolution"]["buckets"] == [
            {"tickets": 2, "calendar": {"avg": (2 * H + 9.5 * H) / 2}}
        ]
        assert every["backlog"] == {
            "opening": 0,
            "buckets": [{"backlog": 0}, {"backlog": 2}, {"backlog": 2}],
        }
        assert every["reopens"]["buckets"][0]["reopenRate"] == 0.5
        assert every["volume"]["buckets"][0]["groups"] == [
            {"key": "high", "tickets": 1},
            {"key": "normal", "tickets": 3},
        ]

    async def test_customers_are_refused(self, client, cast):
        variables = {"start": BERLIN["period_start"], "end": BERLIN["period_end"]}
        r = await client.post(
            "/graphql",
            json={"query": QUERY, "variables": variables},
            headers=cast.alice.headers,
        )
        body = r.json()
        assert body["data"] is None
        assert {e["extensions"]["code"] for e in body["errors"]} == {"permission-denied"}
