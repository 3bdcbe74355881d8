"""Bulk ticket changes (issue 23, bulk actions; issue 25, bulk tags): REST and GraphQL."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from tests.fixtures.actors import Cast

pytestmark = pytest.mark.integration

API = "/api/v1/tickets"
BULK = f"{API}/bulk"


async def new_ticket(client, cast: Cast, **body) -> dict:
    r = await client.post(
        API,
        json={"title": "T", "customer_id": str(cast.alice.id), **body},
        headers=cast.agent.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


class TestBulkUpdate:
    async def test_every_field_on_many_tickets_in_one_request(self, client, cast):
        team = (
            await client.post("/api/v1/teams", json={"name": "Ops"}, headers=cast.admin.headers)
        ).json()
        a = await new_ticket(client, cast, tags=["old", "keep"])
        b = await new_ticket(client, cast)
        r = await client.post(
            BULK,
            json={
                "ticket_ids": [b["id"], a["id"]],
                "changes": {
                    "status": "pending",
                    "priority": "urgent",
                    "assigned_to": str(cast.agent.id),
                    "team_id": team["id"],
                    "add_tags": ["vip"],
                    "remove_tags": ["old"],
                },
            },
            headers=cast.agent.headers,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["updated"], body["failed"]) == (2, 0)
        assert [x["ticket_id"] for x in body["results"]] == [b["id"], a["id"]]  # request order
        for item in body["results"]:
            assert item["outcome"] == "updated"
            assert item["problem"] is None
            t = item["ticket"]
            assert (t["status"], t["priority"], t["assigned_to"], t["team_id"]) == (
                "pending",
                "urgent",
                str(cast.agent.id),
                team["id"],
            )
            assert t["version"] == 2  # one change, one version
        assert body["results"][1]["ticket"]["tags"] == ["keep", "vip"]
        assert body["results"][0]["ticket"]["tags"] == ["vip"]
        got = await client.get(f"{API}/{a['id']}", headers=cast.agent.headers)
        assert got.json()["status"] == "pending"
        assert got.json()["tags"] == ["keep", "vip"]

    async def test_mixed_results_change_only_the_changeable(self, client, cast):
        ok = await new_ticket(client, cast)
        already = await new_ticket(client, cast, priority="high")
        closed = await new_ticket(client, cast)
        await client.patch(
            f"{API}/{closed['id']}", json={"status": "closed"}, headers=cast.agent.headers
        )
        deleted = await new_ticket(client, cast)
        await client.delete(f"{API}/{deleted['id']}", headers=cast.admin.headers)
        missing = str(uuid.uuid4())
        ids = [ok["id"], already["id"], closed["id"], deleted["id"], missing]
        r = await client.post(
            BULK,
            json={"ticket_ids": ids, "changes": {"priority": "high"}},
            headers=cast.agent.headers,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["updated"], body["failed"]) == (1, 3)
        outcomes = {x["ticket_id"]: x["outcome"] for x in body["results"]}
        assert outcomes == {
            ok["id"]: "updated",
            already["id"]: "unchanged",
            closed["id"]: "conflict",
            deleted["id"]: "not_found",
            missing: "not_found",
        }
        by_id = {x["ticket_id"]: x for x in body["results"]}
        assert by_id[closed["id"]]["problem"]["type"] == "/problems/ticket-closed"
        assert by_id[closed["id"]]["problem"]["status"] == 409
        assert by_id[missing]["problem"]["type"] == "/problems/ticket-not-found"
        assert by_id[missing]["ticket"] is None
        assert by_id[already["id"]]["ticket"]["version"] == 1  # nothing written
        still = await client.get(f"{API}/{closed['id']}", headers=cast.agent.headers)
        assert still.json()["priority"] == "normal"

    async def test_too_many_tags_fails_that_ticket_alone(self, client, cast):
        full = await new_ticket(client, cast, tags=[f"t{i}" for i in range(50)])
        other = await new_ticket(client, cast)
        r = await client.post(
            BULK,
            json={"ticket_ids": [full["id"], other["id"]], "changes": {"add_tags": ["new"]}},
            headers=cast.agent.headers,
        )
        body = r.json()
        assert [x["outcome"] for x in body["results"]] == ["invalid", "updated"]
        assert body["results"][0]["problem"]["status"] == 422
        assert (
            len(
                (await client.get(f"{API}/{full['id']}", headers=cast.agent.headers)).json()["tags"]
            )
            == 50
        )

    async def test_customer_cannot_bulk_change_even_own_tickets(self, client, cast):
        own = await new_ticket(client, cast)
        r = await client.post(
            BULK,
            json={"ticket_ids": [own["id"]], "changes": {"status": "solved"}},
            headers=cast.alice.headers,
        )
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"] == "/problems/permission-denied"
        got = await client.get(f"{API}/{own['id']}", headers=cast.agent.headers)
        assert (got.json()["status"], got.json()["version"]) == ("new", 1)

    async def test_read_only_key_is_refused(self, client, cast, session):
        from helpline.models.enums import Role
        from tests.fixtures.factories import make_actor

        reader = await make_actor(session, Role.agent, scopes=["tickets:read"])
        await session.commit()
        t = await new_ticket(client, cast)
        r = await client.post(
            BULK,
            json={"ticket_ids": [t["id"]], "changes": {"status": "open"}},
            headers=reader.headers,
        )
        assert r.status_code == 403

    @pytest.mark.parametrize(
        ("body", "where"),
        [
            ({"ticket_ids": [], "changes": {"status": "open"}}, "ticket_ids"),
            ({"ticket_ids": ["X"], "changes": {}}, "changes"),
            ({"ticket_ids": ["X", "X"], "changes": {"status": "open"}}, "ticket_ids"),
            ({"ticket_ids": ["X"], "changes": {"status": None}}, "status"),
            (
                {"ticket_ids": ["X"], "changes": {"add_tags": ["a"], "remove_tags": ["a"]}},
                "remove_tags",
            ),
            ({"ticket_ids": ["X"], "changes": {"assigned_to": "CUSTOMER"}}, "assigned_to"),
            ({"ticket_ids": ["X"], "changes": {"team_id": "NEW"}}, "team_id"),
            ({"ticket_ids": ["X"], "changes": {"add_tags": ["Bad Tag"]}}, "add_tags"),
            ({"ticket_ids": ["X"] * 101, "changes": {"status": "open"}}, "ticket_ids"),
        ],
    )
    async def test_request_wide_mistakes_are_422_and_change_nothing(
        self, client, cast, body, where
    ):
        t = await new_ticket(client, cast)
        subst = {"X": t["id"], "CUSTOMER": str(cast.alice.id), "NEW": str(uuid.uuid4())}
        body = {
            "ticket_ids": [subst.get(i, i) for i in body["ticket_ids"]],
            "changes": {
                k: subst.get(v, v) if isinstance(v, str) else v for k, v in body["changes"].items()
            },
        }
        r = await client.post(BULK, json=body, headers=cast.agent.headers)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert where in str(r.json()["errors"])
        got = await client.get(f"{API}/{t['id']}", headers=cast.agent.headers)
        assert got.json()["version"] == 1

    async def test_each_change_is_history_audit_and_a_feed_event(self, client, cast, session):
        a = await new_ticket(client, cast)
        b = await new_ticket(client, cast)
        r = await client.post(
            BULK,
            json={
                "ticket_ids": [a["id"], b["id"]],
                "changes": {"status": "open", "add_tags": ["x"]},
            },
            headers=cast.agent.headers,
        )
        assert r.json()["updated"] == 2
        for tid in (a["id"], b["id"]):
            history = await client.get(f"{API}/{tid}/history", headers=cast.agent.headers)
            kinds = {h["change_type"]: h for h in history.json()["data"]}
            assert kinds["status_changed"]["new_value"] == "open"
            assert kinds["tags_changed"]["new_value"] == ["x"]
            assert kinds["status_changed"]["changed_by"] == str(cast.agent.id)
            event = (
                await session.execute(
                    text(
                        "SELECT data FROM events WHERE ticket_id = :t AND type = 'ticket.updated'"
                    ),
                    {"t": tid},
                )
            ).scalar_one()
            assert event["changes"]["status"] == ["new", "open"]
            assert event["changes"]["tags"] == [[], ["x"]]
            audit = (
                await session.execute(
                    text(
                        "SELECT actor_id, changes FROM audit_log"
                        " WHERE entity_id = :t AND action = 'ticket.updated'"
                    ),
                    {"t": tid},
                )
            ).one()
            assert str(audit.actor_id) == str(cast.agent.id)
            assert audit.changes["status"] == ["new", "open"]
        feed = await client.get("/api/v1/events?limit=100", headers=cast.agent.headers)
        updated = [e for e in feed.json()["data"] if e["type"] == "ticket.updated"]
        assert {e["ticket_id"] for e in updated} >= {a["id"], b["id"]}

    async def test_idempotency_key_replays_the_first_answer(self, client, cast):
        t = await new_ticket(client, cast)
        headers = {**cast.agent.headers, "Idempotency-Key": "bulk-once"}
        body = {"ticket_ids": [t["id"]], "changes": {"add_tags": ["once"]}}
        first = await client.post(BULK, json=body, headers=headers)
        again = await client.post(BULK, json=body, headers=headers)
        assert first.status_code == again.status_code == 200
        assert again.json() == first.json()
        got = await client.get(f"{API}/{t['id']}", headers=cast.agent.headers)
        assert got.json()["version"] == 2
        other = await client.post(
            BULK, json={**body, "changes": {"add_tags": ["twice"]}}, headers=headers
        )
        assert other.status_code == 422


class TestBulkGraphQL:
    MUTATION = """mutation($ids: [ID!]!) {
      bulkUpdateTickets(input: {ticketIds: $ids, status: pending, addTags: ["gql"]}) {
        updated failed results { ticketId outcome ticket { status tags } problem { type } }
      } }"""

    async def test_same_results_as_rest(self, client, cast):
        t = await new_ticket(client, cast)
        missing = str(uuid.uuid4())
        r = await client.post(
            "/graphql",
            json={"query": self.MUTATION, "variables": {"ids": [t["id"], missing]}},
            headers=cast.agent.headers,
        )
        assert "errors" not in r.json(), r.text
        payload = r.json()["data"]["bulkUpdateTickets"]
        assert (payload["updated"], payload["failed"]) == (1, 1)
        assert payload["results"] == [
            {
                "ticketId": t["id"],
                "outcome": "updated",
                "ticket": {"status": "pending", "tags": ["gql"]},
                "problem": None,
            },
            {
                "ticketId": missing,
                "outcome": "not_found",
                "ticket": None,
                "problem": {"type": "/problems/ticket-not-found"},
            },
        ]

    async def test_customer_is_refused(self, client, cast):
        t = await new_ticket(client, cast)
        r = await client.post(
            "/graphql",
            json={"query": self.MUTATION, "variables": {"ids": [t["id"]]}},
            headers=cast.alice.headers,
        )
        assert r.json()["data"] is None
        assert r.json()["errors"][0]["extensions"]["type"] == "/problems/permission-denied"
        got = await client.get(f"{API}/{t['id']}", headers=cast.agent.headers)
        assert got.json()["version"] == 1
