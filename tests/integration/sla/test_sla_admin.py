"""Calendars and SLA policies over REST: admins only, problems, audit, recompute queued."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from helpline.models import AuditLog, SlaCalendar, SlaPolicy, SlaRecompute
from helpline.models.enums import Role
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_actor

pytestmark = pytest.mark.integration

CALENDARS = "/api/v1/calendars"
POLICIES = "/api/v1/sla-policies"
BERLIN = {
    "name": "Berlin office",
    "time_zone": "Europe/Berlin",
    "intervals": [
        *({"weekday": d, "start": "09:00", "end": "12:00"} for d in range(5)),
        *({"weekday": d, "start": "13:00", "end": "17:00"} for d in range(5)),
        {"weekday": 5, "start": "22:00", "end": "02:00"},
    ],
    "holidays": [{"date": "2026-12-24", "name": "Christmas Eve"}, {"month": 1, "day": 1}],
}


def policy(calendar_id: str | None, **extra: object) -> dict[str, object]:
    return {
        "name": "Gold",
        "position": 10,
        "calendar_id": calendar_id,
        "conditions": {"priorities": ["high", "urgent"], "metadata": {"plan": "gold"}},
        "targets": {
            "high": {
                "first_response": {"seconds": 3600},
                "next_response": {"seconds": 7200},
                "resolution": {"seconds": 86400, "business": False},
            }
        },
        **extra,
    }


class TestCalendars:
    async def test_crud(self, client, cast: Cast, session) -> None:
        r = await client.post(CALENDARS, json=BERLIN, headers=cast.admin.headers)
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["time_zone"] == "Europe/Berlin"
        assert created["intervals"][-1] == {"weekday": 5, "start": "22:00", "end": "02:00"}
        assert created["holidays"][1] == {"date": None, "month": 1, "day": 1, "name": ""}
        cid = created["id"]
        listed = await client.get(CALENDARS, headers=cast.admin.headers)
        assert [c["id"] for c in listed.json()] == [cid]
        r = await client.patch(
            f"{CALENDARS}/{cid}", json={"time_zone": "America/New_York"}, headers=cast.admin.headers
        )
        assert r.status_code == 200, r.text
        assert r.json()["time_zone"] == "America/New_York"
        assert r.json()["recompute_id"] is None  # no policy uses it: nothing to recompute
        row = await session.get(SlaCalendar, uuid.UUID(cid), populate_existing=True)
        assert row is not None
        assert row.time_zone == "America/New_York"
        assert (
            await client.delete(f"{CALENDARS}/{cid}", headers=cast.admin.headers)
        ).status_code == 204
        r = await client.get(f"{CALENDARS}/{cid}", headers=cast.admin.headers)
        assert r.status_code == 404
        assert r.json()["type"] == "/problems/sla-calendar-not-found"

    async def test_validation(self, client, cast: Cast) -> None:
        for bad in (
            {**BERLIN, "time_zone": "Mars/Olympus"},
            {**BERLIN, "intervals": []},
            {**BERLIN, "intervals": [{"weekday": 7, "start": "09:00", "end": "17:00"}]},
            {**BERLIN, "intervals": [{"weekday": 0, "start": "25:00", "end": "17:00"}]},
            {**BERLIN, "holidays": [{"month": 2, "day": 30}]},
            {**BERLIN, "holidays": [{"date": "2026-01-01", "month": 1, "day": 1}]},
        ):
            r = await client.post(CALENDARS, json=bad, headers=cast.admin.headers)
            assert r.status_code == 422, bad
            assert r.json()["type"] == "/problems/validation-error"
            assert r.json()["errors"]

    async def test_name_taken_and_in_use(self, client, cast: Cast) -> None:
        cid = (await client.post(CALENDARS, json=BERLIN, headers=cast.admin.headers)).json()["id"]
        r = await client.post(CALENDARS, json=BERLIN, headers=cast.admin.headers)
        assert r.status_code == 409
        assert r.json()["type"] == "/problems/sla-name-taken"
        assert (
            await client.post(POLICIES, json=policy(cid), headers=cast.admin.headers)
        ).status_code == 201
        r = await client.delete(f"{CALENDARS}/{cid}", headers=cast.admin.headers)
        assert r.status_code == 409
        assert r.json()["type"] == "/problems/sla-calendar-in-use"


class TestPolicies:
    async def test_crud_queues_a_recompute(self, client, cast: Cast, session) -> None:
        cid = (await client.post(CALENDARS, json=BERLIN, headers=cast.admin.headers)).json()["id"]
        r = await client.post(POLICIES, json=policy(cid), headers=cast.admin.headers)
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["pause_statuses"] == ["pending", "on_hold"]
        assert body["warning_percent"] == 80
        assert body["targets"]["high"]["resolution"] == {"seconds": 86400, "business": False}
        run = await session.get(SlaRecompute, uuid.UUID(body["recompute_id"]))
        assert run is not None
        assert run.state == "queued"
        job = (
            await session.execute(
                text(
                    "SELECT task_name, args FROM procrastinate_jobs"
                    " WHERE task_name = 'helpline:sla_recompute'"
                )
            )
        ).one()
        assert job.args == {"id": body["recompute_id"]}
        progress = await client.get(
            f"{POLICIES}/recomputes/{body['recompute_id']}", headers=cast.admin.headers
        )
        assert progress.json()["state"] == "queued"

        r = await client.patch(
            f"{POLICIES}/{body['id']}",
            json={"position": 1, "pause_statuses": ["on_hold"]},
            headers=cast.admin.headers,
        )
        assert r.status_code == 200, r.text
        assert (r.json()["position"], r.json()["pause_statuses"]) == (1, ["on_hold"])
        assert r.json()["recompute_id"] != body["recompute_id"]
        second = (
            await client.post(
                POLICIES,
                json={**policy(cid), "name": "Default", "position": 0, "conditions": {}},
                headers=cast.admin.headers,
            )
        ).json()
        listed = await client.get(POLICIES, headers=cast.admin.headers)
        assert [p["name"] for p in listed.json()] == ["Default", "Gold"]
        r = await client.delete(f"{POLICIES}/{second['id']}", headers=cast.admin.headers)
        assert r.status_code == 204
        assert await session.get(SlaPolicy, uuid.UUID(second["id"]), populate_existing=True) is None

    async def test_business_targets_need_a_calendar(self, client, cast: Cast) -> None:
        r = await client.post(POLICIES, json=policy(None), headers=cast.admin.headers)
        assert r.status_code == 422
        assert r.json()["type"] == "/problems/sla-policy-invalid"
        assert r.json()["errors"][0]["loc"] == ["body", "calendar_id"]
        r = await client.post(POLICIES, json=policy(str(uuid.uuid4())), headers=cast.admin.headers)
        assert r.status_code == 422
        assert r.json()["detail"] == "The calendar does not exist."

    async def test_solved_cannot_pause(self, client, cast: Cast) -> None:
        body = policy(None, pause_statuses=["solved"])
        r = await client.post(POLICIES, json=body, headers=cast.admin.headers)
        assert r.status_code == 422
        assert "solved and closed end the clocks" in r.text


class TestPolicyOrder:
    """`PUT /api/v1/sla-policies/order` (and GraphQL `reorderSlaPolicies`): the whole order in
    one step, only when it names exactly the current policies."""

    async def _three(self, client, cast: Cast) -> list[str]:
        ids = []
        for n, name in enumerate(("A", "B", "C")):
            body = {**policy(None), "name": name, "position": n * 10, "conditions": {}}
            body["targets"] = {"high": {"first_response": {"seconds": 3600, "business": False}}}
            r = await client.post(POLICIES, json=body, headers=cast.admin.headers)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        return ids

    async def test_reorder_sets_every_position_and_queues_one_recompute(
        self, client, cast: Cast, session
    ) -> None:
        a, b, c = await self._three(client, cast)
        before = await session.scalar(text("SELECT count(*) FROM sla_recomputes"))
        r = await client.put(
            f"{POLICIES}/order", json={"ids": [c, a, b]}, headers=cast.admin.headers
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert [(p["name"], p["position"]) for p in body["policies"]] == [
            ("C", 0),
            ("A", 1),
            ("B", 2),
        ]
        assert body["recompute_id"] is not None
        assert await session.scalar(text("SELECT count(*) FROM sla_recomputes")) == before + 1
        listed = await client.get(POLICIES, headers=cast.admin.headers)
        assert [p["id"] for p in listed.json()] == [c, a, b]
        # The same order again moves nothing: no recompute.
        again = await client.put(
            f"{POLICIES}/order", json={"ids": [c, a, b]}, headers=cast.admin.headers
        )
        assert again.status_code == 200
        assert again.json()["recompute_id"] is None
        assert await session.scalar(text("SELECT count(*) FROM sla_recomputes")) == before + 1

    async def test_a_list_that_is_not_the_current_set_changes_nothing(
        self, client, cast: Cast, session
    ) -> None:
        a, b, c = await self._three(client, cast)
        url = f"{POLICIES}/order"
        for ids in ([a, b], [a, b, c, str(uuid.uuid4())], [b, a, str(uuid.uuid4())], []):
            r = await client.put(url, json={"ids": ids}, headers=cast.admin.headers)
            assert r.status_code == 409, (ids, r.text)
            assert r.json()["type"] == "/problems/sla-policy-order-stale"
            assert r.headers["content-type"].startswith("application/problem+json")
        r = await client.put(url, json={"ids": [a, a, b, c]}, headers=cast.admin.headers)
        assert r.status_code == 422
        r = await client.put(url, json={"ids": ["nope"]}, headers=cast.admin.headers)
        assert r.status_code == 422
        rows = await session.execute(text("SELECT name, position FROM sla_policies ORDER BY name"))
        assert [tuple(r) for r in rows] == [("A", 0), ("B", 10), ("C", 20)]

    async def test_staff_and_customers_are_refused(self, client, cast: Cast) -> None:
        a, b, c = await self._three(client, cast)
        for actor in (cast.agent, cast.alice):
            r = await client.put(
                f"{POLICIES}/order", json={"ids": [c, b, a]}, headers=actor.headers
            )
            assert r.status_code == 403
            assert r.json()["type"] == "/problems/permission-denied"

    async def test_graphql_reorders_with_the_same_rules(self, client, cast: Cast) -> None:
        a, b, c = await self._three(client, cast)
        mutation = (
            "mutation($ids: [ID!]!) { reorderSlaPolicies(ids: $ids)"
            " { policies { id name position } recomputeId } }"
        )
        r = await client.post(
            "/graphql",
            json={"query": mutation, "variables": {"ids": [b, c, a]}},
            headers=cast.admin.headers,
        )
        body = r.json()
        assert "errors" not in body, body
        order = body["data"]["reorderSlaPolicies"]
        assert [p["name"] for p in order["policies"]] == ["B", "C", "A"]
        assert order["recomputeId"] is not None
        stale = await client.post(
            "/graphql",
            json={"query": mutation, "variables": {"ids": [b, c]}},
            headers=cast.admin.headers,
        )
        assert stale.json()["errors"][0]["extensions"]["type"] == "/problems/sla-policy-order-stale"
        agent = await client.post(
            "/graphql",
            json={"query": mutation, "variables": {"ids": [a, b, c]}},
            headers=cast.agent.headers,
        )
        assert agent.json()["errors"][0]["extensions"]["type"] == "/problems/permission-denied"


class TestPermissions:
    async def test_agents_and_customers_are_refused(self, client, cast: Cast, session) -> None:
        for actor in (cast.agent, cast.alice):
            for method, url, body in (
                ("GET", CALENDARS, None),
                ("POST", CALENDARS, BERLIN),
                ("GET", POLICIES, None),
                ("POST", POLICIES, policy(None)),
            ):
                r = await client.request(method, url, json=body, headers=actor.headers)
                assert r.status_code == 403, (actor.role, method, url)
                assert r.json()["type"] == "/problems/permission-denied"
        count = await session.scalar(text("SELECT count(*) FROM sla_calendars"))
        assert count == 0

    async def test_admin_key_without_the_scope_is_refused(self, client, session) -> None:
        narrow = await make_actor(session, Role.admin, scopes=["tickets:read"])
        r = await client.post(CALENDARS, json=BERLIN, headers=narrow.headers)
        assert r.status_code == 403
        assert "sla:write" in r.json()["detail"]

    async def test_clocks_are_for_staff(self, client, cast: Cast) -> None:
        r = await client.get(
            f"/api/v1/tickets/{uuid.uuid4()}/sla/clocks", headers=cast.alice.headers
        )
        assert r.status_code == 403
        r = await client.get(
            f"/api/v1/tickets/{uuid.uuid4()}/sla/clocks", headers=cast.agent.headers
        )
        assert (r.status_code, r.json()) == (200, [])


class TestAudit:
    async def test_changes_are_audited(self, client, cast: Cast, session) -> None:
        headers = {**cast.admin.headers, "X-Request-ID": "req-sla-audit-1"}
        cid = (await client.post(CALENDARS, json=BERLIN, headers=headers)).json()["id"]
        await client.patch(f"{CALENDARS}/{cid}", json={"name": "Berlin HQ"}, headers=headers)
        pid = (await client.post(POLICIES, json=policy(cid), headers=headers)).json()["id"]
        await client.patch(f"{POLICIES}/{pid}", json={"warning_percent": 50}, headers=headers)
        await client.delete(f"{POLICIES}/{pid}", headers=headers)
        await client.delete(f"{CALENDARS}/{cid}", headers=headers)
        rows = list(
            (
                await session.execute(
                    select(AuditLog)
                    .where(AuditLog.entity_type.in_(["sla_calendar", "sla_policy"]))
                    .order_by(AuditLog.id)
                )
            ).scalars()
        )
        assert [r.action for r in rows] == [
            "sla_calendar.created",
            "sla_calendar.updated",
            "sla_policy.created",
            "sla_policy.updated",
            "sla_policy.deleted",
            "sla_calendar.deleted",
        ]
        assert {r.actor_id for r in rows} == {cast.admin.id}
        assert rows[0].request_id == "req-sla-audit-1"
        assert rows[1].changes == {"name": ["Berlin office", "Berlin HQ"]}
        assert rows[3].changes == {"warning_percent": [80, 50]}


class TestHolidaySeed:
    async def test_a_countrys_public_holidays_are_added_once(self, client, cast: Cast) -> None:
        cid = (await client.post(CALENDARS, json=BERLIN, headers=cast.admin.headers)).json()["id"]
        seed = {"country": "DE", "subdivision": "BY", "years": [2026]}
        r = await client.post(
            f"{CALENDARS}/{cid}/holidays/seed", json=seed, headers=cast.admin.headers
        )
        assert r.status_code == 200, r.text
        dates = {h["date"]: h["name"] for h in r.json()["holidays"] if h["date"]}
        assert dates["2026-01-06"] == "Epiphany"  # Bavaria only
        assert dates["2026-10-03"] == "German Unity Day"
        assert dates["2026-12-24"] == "Christmas Eve"  # the calendar's own entry is kept
        assert r.json()["holidays"][1] == {"date": None, "month": 1, "day": 1, "name": ""}
        again = await client.post(
            f"{CALENDARS}/{cid}/holidays/seed", json=seed, headers=cast.admin.headers
        )
        assert len(again.json()["holidays"]) == len(r.json()["holidays"])

    async def test_unknown_country_is_a_validation_problem(self, client, cast: Cast) -> None:
        cid = (await client.post(CALENDARS, json=BERLIN, headers=cast.admin.headers)).json()["id"]
        r = await client.post(
            f"{CALENDARS}/{cid}/holidays/seed",
            json={"country": "QQ", "years": [2026]},
            headers=cast.admin.headers,
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "country"]
        r = await client.post(
            f"{CALENDARS}/{cid}/holidays/seed",
            json={"country": "DE", "years": [2026]},
            headers=cast.agent.headers,
        )
        assert r.status_code == 403
