"""Tags and teams on tickets (issue 25, item 1): REST, filters, history, events, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.fixtures.actors import Cast

pytestmark = pytest.mark.integration

API = "/api/v1/tickets"


async def new_ticket(client, cast: Cast, **body) -> dict:
    r = await client.post(
        API,
        json={"title": "T", "customer_id": str(cast.alice.id), **body},
        headers=cast.agent.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


class TestTags:
    async def test_add_and_remove_keep_a_sorted_set_and_bump_version_once(self, client, cast):
        ticket = await new_ticket(client, cast)
        assert ticket["tags"] == []
        tid = ticket["id"]
        r = await client.put(f"{API}/{tid}/tags/vip", headers=cast.agent.headers)
        assert r.json()["tags"] == ["vip"]
        assert r.json()["version"] == 2
        r = await client.put(f"{API}/{tid}/tags/billing", headers=cast.agent.headers)
        assert r.json()["tags"] == ["billing", "vip"]
        assert r.json()["version"] == 3
        again = await client.put(f"{API}/{tid}/tags/vip", headers=cast.agent.headers)
        assert again.json()["version"] == 3  # nothing changed
        r = await client.delete(f"{API}/{tid}/tags/vip", headers=cast.agent.headers)
        assert r.json()["tags"] == ["billing"]
        assert r.json()["version"] == 4
        got = await client.get(f"{API}/{tid}", headers=cast.agent.headers)
        assert got.json()["tags"] == ["billing"]

    async def test_patch_replaces_the_set_and_create_takes_tags(self, client, cast):
        ticket = await new_ticket(client, cast, tags=["b", "a", "b"])
        assert ticket["tags"] == ["a", "b"]
        r = await client.patch(
            f"{API}/{ticket['id']}", json={"tags": ["z"]}, headers=cast.agent.headers
        )
        assert r.status_code == 200
        assert r.json()["tags"] == ["z"]

    async def test_bad_tag_is_422_and_customers_cannot_tag(self, client, cast):
        tid = (await new_ticket(client, cast))["id"]
        bad = await client.put(f"{API}/{tid}/tags/Not%20OK", headers=cast.agent.headers)
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
        denied = await client.put(f"{API}/{tid}/tags/vip", headers=cast.alice.headers)
        assert denied.status_code == 403
        assert denied.json()["type"] == "/problems/permission-denied"
        created = await client.post(
            API, json={"title": "x", "tags": ["vip"]}, headers=cast.alice.headers
        )
        assert created.status_code == 403

    async def test_list_filters_by_every_given_tag(self, client, cast):
        a = (await new_ticket(client, cast, tags=["vip", "billing"]))["id"]
        b = (await new_ticket(client, cast, tags=["vip"]))["id"]
        await new_ticket(client, cast, tags=["other"])
        r = await client.get(f"{API}?tag=vip", headers=cast.agent.headers)
        assert {t["id"] for t in r.json()["data"]} >= {a, b}
        assert all("vip" in t["tags"] for t in r.json()["data"])
        r = await client.get(f"{API}?tag=vip&tag=billing", headers=cast.agent.headers)
        assert [t["id"] for t in r.json()["data"] if t["id"] in (a, b)] == [a]

    async def test_tag_change_is_history_event_and_audit(self, client, cast, session):
        tid = (await new_ticket(client, cast))["id"]
        await client.put(f"{API}/{tid}/tags/vip", headers=cast.agent.headers)
        history = await client.get(f"{API}/{tid}/history", headers=cast.agent.headers)
        entries = [h for h in history.json()["data"] if h["change_type"] == "tags_changed"]
        assert [(h["old_value"], h["new_value"]) for h in entries] == [([], ["vip"])]
        customer = await client.get(f"{API}/{tid}/history", headers=cast.alice.headers)
        assert "tags_changed" not in {h["change_type"] for h in customer.json()["data"]}
        event = (
            await session.execute(
                text("SELECT data FROM events WHERE ticket_id = :t AND type = 'ticket.updated'"),
                {"t": tid},
            )
        ).scalar_one()
        assert event["changes"] == {"tags": [[], ["vip"]]}
        audit = (
            await session.execute(
                text(
                    "SELECT changes FROM audit_log WHERE entity_id = :t AND action = 'ticket.updated'"
                ),
                {"t": tid},
            )
        ).scalar_one()
        assert audit["tags"] == [[], ["vip"]]

    async def test_stale_if_match_on_tags_conflicts(self, client, cast):
        tid = (await new_ticket(client, cast))["id"]
        await client.put(f"{API}/{tid}/tags/a", headers=cast.agent.headers)
        r = await client.put(
            f"{API}/{tid}/tags/b", headers={**cast.agent.headers, "If-Match": '"1"'}
        )
        assert r.status_code == 412
        assert r.json()["current_version"] == 2


class TestTeams:
    async def test_admin_creates_team_and_tickets_filter_by_it(self, client, cast):
        r = await client.post(
            "/api/v1/teams",
            json={"name": "Billing", "member_ids": [str(cast.agent.id)]},
            headers=cast.admin.headers,
        )
        assert r.status_code == 201, r.text
        team = r.json()
        assert team["member_ids"] == [str(cast.agent.id)]
        dup = await client.post(
            "/api/v1/teams", json={"name": "billing"}, headers=cast.admin.headers
        )
        assert dup.status_code == 409
        assert dup.json()["type"] == "/problems/name-taken"
        t1 = (await new_ticket(client, cast, team_id=team["id"]))["id"]
        await new_ticket(client, cast)
        listed = await client.get(f"{API}?team_id={team['id']}", headers=cast.agent.headers)
        assert [t["id"] for t in listed.json()["data"]] == [t1]

    async def test_agents_read_but_cannot_change_teams(self, client, cast):
        denied = await client.post("/api/v1/teams", json={"name": "X"}, headers=cast.agent.headers)
        assert denied.status_code == 403
        assert (await client.get("/api/v1/teams", headers=cast.alice.headers)).status_code == 403
        assert (await client.get("/api/v1/teams", headers=cast.agent.headers)).json() == []

    async def test_customer_cannot_be_a_member_and_unknown_team_is_422(self, client, cast):
        r = await client.post(
            "/api/v1/teams",
            json={"name": "C", "member_ids": [str(cast.alice.id)]},
            headers=cast.admin.headers,
        )
        assert r.status_code == 422
        r = await client.post(
            API,
            json={
                "title": "T",
                "customer_id": str(cast.alice.id),
                "team_id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b20",
            },
            headers=cast.agent.headers,
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "team_id"]

    async def test_team_change_is_history_and_a_team_in_use_is_not_deleted(self, client, cast):
        team = (
            await client.post("/api/v1/teams", json={"name": "Ops"}, headers=cast.admin.headers)
        ).json()
        tid = (await new_ticket(client, cast))["id"]
        r = await client.patch(
            f"{API}/{tid}", json={"team_id": team["id"]}, headers=cast.agent.headers
        )
        assert r.json()["team_id"] == team["id"]
        history = await client.get(f"{API}/{tid}/history", headers=cast.agent.headers)
        assert [
            h["new_value"] for h in history.json()["data"] if h["change_type"] == "team_changed"
        ] == [team["id"]]
        busy = await client.delete(f"/api/v1/teams/{team['id']}", headers=cast.admin.headers)
        assert busy.status_code == 409
        assert busy.json()["type"] == "/problems/conflict"
        await client.patch(f"{API}/{tid}", json={"team_id": None}, headers=cast.agent.headers)
        gone = await client.delete(f"/api/v1/teams/{team['id']}", headers=cast.admin.headers)
        assert gone.status_code == 204
        assert (await client.get("/api/v1/teams", headers=cast.agent.headers)).json() == []

    async def test_members_are_replaced_and_audited(self, client, cast, session):
        team = (
            await client.post(
                "/api/v1/teams",
                json={"name": "Ops", "member_ids": [str(cast.agent.id)]},
                headers=cast.admin.headers,
            )
        ).json()
        r = await client.patch(
            f"/api/v1/teams/{team['id']}",
            json={"member_ids": [str(cast.admin.id)]},
            headers=cast.admin.headers,
        )
        assert r.json()["member_ids"] == [str(cast.admin.id)]
        actions = (
            (
                await session.execute(
                    text("SELECT action FROM audit_log WHERE entity_id = :t ORDER BY id"),
                    {"t": team["id"]},
                )
            )
            .scalars()
            .all()
        )
        assert actions == [
            "team.created",
            "team.member_added",
            "team.member_removed",
            "team.member_added",
        ]


class TestGraphQL:
    async def test_tags_through_graphql(self, client, cast):
        tid = (await new_ticket(client, cast))["id"]
        add = """mutation($t: ID!) { addTicketTag(input: {ticketId: $t, tag: "vip"}) {
                   tags version } }"""
        r = await client.post(
            "/graphql", json={"query": add, "variables": {"t": tid}}, headers=cast.agent.headers
        )
        assert r.json()["data"]["addTicketTag"] == {"tags": ["vip"], "version": 2}
        query = """{ tickets(first: 5, filter: {tags: ["vip"]}) { edges { node { id tags } } } }"""
        r = await client.post("/graphql", json={"query": query}, headers=cast.agent.headers)
        assert [e["node"] for e in r.json()["data"]["tickets"]["edges"]] == [
            {"id": tid, "tags": ["vip"]}
        ]
        remove = """mutation($t: ID!) { removeTicketTag(input: {ticketId: $t, tag: "vip"}) {
                      tags } }"""
        r = await client.post(
            "/graphql", json={"query": remove, "variables": {"t": tid}}, headers=cast.alice.headers
        )
        assert r.json()["data"] is None or r.json()["errors"]
