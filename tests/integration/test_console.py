"""The console bootstrap (issue 23): GET /api/v1/console gives every console page the caller,
the teams, the staff directory and the saved views in one request; customers get only
themselves. Presence is the first message of the staff stream instead (test_event_stream_live
and tests/unit/test_event_stream.py)."""

from __future__ import annotations

import pytest

from helpline.models.enums import Role
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_actor, make_user

pytestmark = pytest.mark.integration

API = "/api/v1/console"


async def _team(client, cast: Cast, name: str, members: list[str]) -> dict:
    r = await client.post(
        "/api/v1/teams", json={"name": name, "member_ids": members}, headers=cast.admin.headers
    )
    assert r.status_code == 201, r.text
    return r.json()


class TestConsoleBootstrap:
    async def test_staff_get_themselves_teams_the_directory_and_their_views(
        self, client, cast: Cast, session
    ):
        gone = await make_user(session, Role.agent, name="Aaron Gone")
        gone_id = str(gone.id)
        await session.commit()
        r = await client.delete(f"/api/v1/users/{gone_id}", headers=cast.admin.headers)
        assert r.status_code in (200, 204), r.text
        billing = await _team(client, cast, "Billing", [str(cast.agent.id)])
        apps = await _team(client, cast, "apps", [])
        view = {"name": "Urgent", "query": {"priority": "urgent"}, "is_default": True}
        r = await client.post("/api/v1/views", json=view, headers=cast.agent.headers)
        assert r.status_code == 201, r.text
        await client.post("/api/v1/views", json={"name": "Other's"}, headers=cast.admin.headers)

        r = await client.get(API, headers=cast.agent.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        me = (await client.get("/api/v1/auth/me", headers=cast.agent.headers)).json()
        assert body["me"] == me
        assert body["me"]["role"] == "agent"
        assert [t["name"] for t in body["teams"]] == ["apps", "Billing"]
        assert body["teams"] == [apps, billing]
        ids = {s["id"] for s in body["staff"]}
        assert {str(cast.agent.id), str(cast.admin.id)} <= ids
        assert gone_id not in ids  # inactive staff are no one's assignee
        assert str(cast.alice.id) not in ids  # customers are not staff
        names = [s["name"] for s in body["staff"]]
        assert names == sorted(names, key=str.lower)
        mine = next(s for s in body["staff"] if s["id"] == str(cast.agent.id))
        assert mine == {
            "id": str(cast.agent.id),
            "name": me["name"],
            "email": cast.agent.email,
            "role": "agent",
        }
        assert body["staff_complete"] is True
        listed = (await client.get("/api/v1/views", headers=cast.agent.headers)).json()
        assert body["views"] == listed  # only the caller's own, as /views sends them
        assert [v["name"] for v in body["views"]] == ["Urgent"]
        assert body["views"][0]["query"] == {"priority": "urgent"}  # no nulls

    async def test_customers_get_only_themselves(self, client, cast: Cast):
        await _team(client, cast, "Billing", [str(cast.agent.id)])
        r = await client.post("/api/v1/views", json={"name": "Mine"}, headers=cast.agent.headers)
        assert r.status_code == 201
        r = await client.get(API, headers=cast.alice.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["me"]["id"] == str(cast.alice.id)
        assert body["me"]["role"] == "customer"
        assert body["teams"] == body["staff"] == body["views"] == []
        assert str(cast.agent.id) not in r.text  # no staff member is named to a customer
        assert "Billing" not in r.text

    async def test_sections_follow_the_key_scopes(self, client, session):
        narrow = await make_actor(session, Role.agent, scopes=["tickets:read"])
        await session.commit()
        body = (await client.get(API, headers=narrow.headers)).json()
        assert body["me"]["scopes"] == ["tickets:read"]
        assert body["staff"] == []  # the directory needs users:read

    async def test_without_credentials_it_is_401(self, client):
        r = await client.get(API)
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")

    async def test_a_team_change_shows_on_the_next_bootstrap(self, client, cast: Cast):
        team = await _team(client, cast, "Billing", [])
        r = await client.patch(
            f"/api/v1/teams/{team['id']}",
            json={"name": "Refunds", "member_ids": [str(cast.agent.id)]},
            headers=cast.admin.headers,
        )
        assert r.status_code == 200
        body = (await client.get(API, headers=cast.agent.headers)).json()
        assert [(t["name"], t["member_ids"]) for t in body["teams"]] == [
            ("Refunds", [str(cast.agent.id)])
        ]
