"""Saved views per agent (issue 23): GET/POST /api/v1/views, GET/PATCH/DELETE /api/v1/views/{id}
and the GraphQL `views` query and mutations: private to their owner, staff only, validated
against the ticket list's parameters, unique names, a cap, one default."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from helpline.models import SavedView
from helpline.view.schemas import MAX_VIEWS_PER_USER
from tests.fixtures.actors import Cast

pytestmark = pytest.mark.integration

API = "/api/v1/views"
QUERY = {"status": ["open", "new"], "priority": "urgent", "tag": ["vip"], "sort": "sla_due"}


async def new_view(client, actor, name: str = "Urgent", **body: Any) -> dict:
    r = await client.post(API, json={"name": name, **body}, headers=actor.headers)
    assert r.status_code == 201, r.text
    return r.json()


def problem(r, status: int, slug: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    return body


class TestCrud:
    async def test_saved_listed_renamed_updated_and_deleted(self, client, cast: Cast, session):
        created = await new_view(client, cast.agent, "Urgent VIPs", query=QUERY)
        assert created["name"] == "Urgent VIPs"
        # Normalized: statuses in lifecycle order; only the parameters given are kept.
        assert created["query"] == {
            "status": ["new", "open"],
            "priority": "urgent",
            "tag": ["vip"],
            "sort": "sla_due",
        }
        assert (created["position"], created["is_default"]) == (0, False)
        second = await new_view(
            client, cast.agent, "Mine", query={"assigned_to": str(cast.agent.id)}
        )
        assert second["position"] == 1  # after the last

        listed = await client.get(API, headers=cast.agent.headers)
        assert listed.status_code == 200
        assert [v["name"] for v in listed.json()] == ["Urgent VIPs", "Mine"]
        got = await client.get(f"{API}/{created['id']}", headers=cast.agent.headers)
        assert got.json() == created

        url = f"{API}/{created['id']}"
        renamed = await client.patch(url, json={"name": "VIPs"}, headers=cast.agent.headers)
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["name"] == "VIPs"
        assert renamed.json()["query"] == created["query"]  # untouched
        replaced = await client.patch(
            url, json={"query": {"q": " refund ", "q_scope": "all"}}, headers=cast.agent.headers
        )
        assert replaced.json()["query"] == {"q": "refund", "q_scope": "all"}
        assert replaced.json()["updated_at"] >= created["updated_at"]
        moved = await client.patch(url, json={"position": 5}, headers=cast.agent.headers)
        assert moved.json()["position"] == 5
        listed = await client.get(API, headers=cast.agent.headers)
        assert [v["name"] for v in listed.json()] == ["Mine", "VIPs"]

        assert (await client.delete(url, headers=cast.agent.headers)).status_code == 204
        problem(await client.get(url, headers=cast.agent.headers), 404, "view-not-found")
        problem(await client.delete(url, headers=cast.agent.headers), 404, "view-not-found")
        count = await session.scalar(
            select(func.count()).select_from(SavedView).where(SavedView.user_id == cast.agent.id)
        )
        assert count == 1

    async def test_every_list_filter_can_be_saved(self, client, cast: Cast):
        query = {
            "status": ["pending"],
            "priority": "high",
            "assigned_to": str(cast.agent.id),
            "customer_id": str(cast.alice.id),
            "team_id": str(uuid.uuid4()),
            "tag": ["vip", "billing"],
            "q": "printer",
            "q_scope": "messages",
            "number": 42,
            "created_after": "2026-01-01T00:00:00Z",
            "created_before": "2026-12-31T00:00:00Z",
            "updated_since": "2026-06-01T00:00:00Z",
            "sla_breached": True,
            "sla_due_before": "2026-12-08T00:00:00Z",
            "metadata": {"plan": "gold"},
            "sort": "-created_at",
        }
        view = await new_view(client, cast.admin, "Everything", query=query)
        assert view["query"] == {**query, "tag": ["billing", "vip"]}

    async def test_a_view_applies_as_the_ticket_list_filters(self, client, cast: Cast):
        """The saved query is the list's own parameters: passed back to the list, it filters."""
        for title, priority in (("Fire", "urgent"), ("Smoke", "low")):
            r = await client.post(
                "/api/v1/tickets",
                json={"title": title, "customer_id": str(cast.alice.id), "priority": priority},
                headers=cast.agent.headers,
            )
            assert r.status_code == 201, r.text
        view = await new_view(
            client, cast.agent, query={"priority": "urgent", "customer_id": str(cast.alice.id)}
        )
        r = await client.get("/api/v1/tickets", params=view["query"], headers=cast.agent.headers)
        assert [t["title"] for t in r.json()["data"]] == ["Fire"]


class TestValidation:
    async def test_unknown_query_key_is_a_422_naming_it(self, client, cast: Cast):
        r = await client.post(
            API,
            json={"name": "x", "query": {"limit": 5, "colour": "red"}},
            headers=cast.agent.headers,
        )
        body = problem(r, 422, "validation-error")
        assert sorted((tuple(e["loc"]), e["type"]) for e in body["errors"]) == [
            (("body", "query", "colour"), "extra_forbidden"),
            (("body", "query", "limit"), "extra_forbidden"),
        ]

    @pytest.mark.parametrize(
        ("query", "loc"),
        [
            ({"status": ["open", "lost"]}, ["body", "query", "status", 1]),
            ({"status": "open"}, ["body", "query", "status"]),
            ({"priority": "asap"}, ["body", "query", "priority"]),
            ({"assigned_to": "me"}, ["body", "query", "assigned_to"]),
            ({"tag": ["Not A Tag"]}, ["body", "query", "tag", 0]),
            ({"tag": [f"t{i}" for i in range(11)]}, ["body", "query", "tag"]),
            ({"q": "x" * 201}, ["body", "query", "q"]),
            ({"q": "   "}, ["body", "query", "q"]),
            ({"sort": "title"}, ["body", "query", "sort"]),
            ({"created_after": "yesterday"}, ["body", "query", "created_after"]),
            ({"number": 0}, ["body", "query", "number"]),
            ({"metadata": {"Bad Key": "x"}}, ["body", "query", "metadata", "Bad Key", "[key]"]),
            ({"metadata": {f"k{i}": "v" for i in range(6)}}, ["body", "query", "metadata"]),
        ],
    )
    async def test_values_the_list_would_refuse_are_refused(self, client, cast: Cast, query, loc):
        r = await client.post(API, json={"name": "x", "query": query}, headers=cast.agent.headers)
        body = problem(r, 422, "validation-error")
        assert [e["loc"] for e in body["errors"]] == [[str(p) for p in loc]], body["errors"]

    async def test_query_size_is_bounded(self, client, cast: Cast):
        query = {"metadata": {f"key{i}": "é" * 1024 for i in range(5)}}
        body = problem(
            await client.post(API, json={"name": "x", "query": query}, headers=cast.agent.headers),
            422,
            "validation-error",
        )
        assert body["errors"][0]["loc"] == ["body", "query"]
        assert "4096 bytes" in body["errors"][0]["msg"]

    async def test_name_and_position_bounds(self, client, cast: Cast):
        for body, loc in (
            ({"name": ""}, ["body", "name"]),
            ({"name": "  "}, ["body", "name"]),
            ({"name": "x" * 101}, ["body", "name"]),
            ({"name": "x", "position": -1}, ["body", "position"]),
            ({"name": "x", "mine": True}, ["body", "mine"]),
        ):
            r = await client.post(API, json=body, headers=cast.agent.headers)
            assert problem(r, 422, "validation-error")["errors"][0]["loc"] == loc
        view = await new_view(client, cast.agent)
        r = await client.patch(
            f"{API}/{view['id']}", json={"query": {"x": 1}}, headers=cast.agent.headers
        )
        assert problem(r, 422, "validation-error")["errors"][0]["loc"] == ["body", "query", "x"]


class TestOwnership:
    async def test_another_users_view_is_404_for_every_verb(self, client, cast: Cast):
        view = await new_view(client, cast.agent, "Mine")
        url = f"{API}/{view['id']}"
        for call in (
            client.get(url, headers=cast.admin.headers),
            client.patch(url, json={"name": "Ours"}, headers=cast.admin.headers),
            client.patch(url, json={"is_default": True}, headers=cast.admin.headers),
            client.delete(url, headers=cast.admin.headers),
        ):
            body = problem(await call, 404, "view-not-found")
            assert body["title"] == "Saved view not found"
        assert (await client.get(API, headers=cast.admin.headers)).json() == []
        after = await client.get(url, headers=cast.agent.headers)
        assert (after.json()["name"], after.json()["is_default"]) == ("Mine", False)

    async def test_names_are_per_user(self, client, cast: Cast):
        await new_view(client, cast.agent, "Urgent")
        await new_view(client, cast.admin, "urgent")  # another user: no conflict

    async def test_customers_have_no_views(self, client, cast: Cast):
        view = await new_view(client, cast.agent)
        for call in (
            client.get(API, headers=cast.alice.headers),
            client.post(API, json={"name": "Mine"}, headers=cast.alice.headers),
            client.get(f"{API}/{view['id']}", headers=cast.alice.headers),
            client.patch(f"{API}/{view['id']}", json={"name": "y"}, headers=cast.alice.headers),
            client.delete(f"{API}/{view['id']}", headers=cast.alice.headers),
        ):
            body = problem(await call, 403, "permission-denied")
            assert body["detail"] in (
                "Saved views are for agents and admins.",
                "This action needs the 'tickets:write' permission.",
            )

    async def test_anonymous_is_401(self, client):
        r = await client.get(API)
        assert r.status_code == 401


class TestConflicts:
    async def test_duplicate_name_is_a_409_case_insensitively(self, client, cast: Cast):
        first = await new_view(client, cast.agent, "Urgent")
        other = await new_view(client, cast.agent, "Other")
        r = await client.post(API, json={"name": "URGENT"}, headers=cast.agent.headers)
        body = problem(r, 409, "name-taken")
        assert body["detail"] == "You already have a view named 'URGENT'."
        assert body["errors"] == [
            {"loc": ["body", "name"], "msg": "already in use", "type": "unique"}
        ]
        r = await client.patch(
            f"{API}/{other['id']}", json={"name": "urgent"}, headers=cast.agent.headers
        )
        problem(r, 409, "name-taken")
        # Renaming to its own name (another case) is no conflict.
        r = await client.patch(
            f"{API}/{first['id']}", json={"name": "URGENT"}, headers=cast.agent.headers
        )
        assert r.status_code == 200
        assert len((await client.get(API, headers=cast.agent.headers)).json()) == 2

    async def test_at_most_the_cap_per_user(self, client, cast: Cast, session):
        session.add_all(
            SavedView(id=uuid.uuid4(), user_id=cast.agent.id, name=f"v{i}", query={}, position=i)
            for i in range(MAX_VIEWS_PER_USER - 1)
        )
        await session.commit()
        await new_view(client, cast.agent, "The last one")
        r = await client.post(API, json={"name": "One too many"}, headers=cast.agent.headers)
        body = problem(r, 409, "view-limit-reached")
        assert body["detail"] == (
            f"You have {MAX_VIEWS_PER_USER} saved views, the most allowed; delete one first."
        )
        # A taken name at the cap is still named as such.
        problem(
            await client.post(API, json={"name": "v1"}, headers=cast.agent.headers),
            409,
            "name-taken",
        )
        listed = (await client.get(API, headers=cast.agent.headers)).json()
        assert len(listed) == MAX_VIEWS_PER_USER
        await new_view(client, cast.admin, "Admins have their own cap")

    async def test_one_default_per_user(self, client, cast: Cast):
        a = await new_view(client, cast.agent, "A", is_default=True)
        b = await new_view(client, cast.agent, "B", is_default=True)
        mine = {
            v["name"]: v["is_default"]
            for v in (await client.get(API, headers=cast.agent.headers)).json()
        }
        assert mine == {"A": False, "B": True}
        r = await client.patch(
            f"{API}/{a['id']}", json={"is_default": True}, headers=cast.agent.headers
        )
        assert r.json()["is_default"] is True
        mine = {
            v["name"]: v["is_default"]
            for v in (await client.get(API, headers=cast.agent.headers)).json()
        }
        assert mine == {"A": True, "B": False}
        r = await client.patch(
            f"{API}/{a['id']}", json={"is_default": False}, headers=cast.agent.headers
        )
        assert r.json()["is_default"] is False
        assert b["id"] != a["id"]
        mine = {
            v["name"]: v["is_default"]
            for v in (await client.get(API, headers=cast.agent.headers)).json()
        }
        assert mine == {"A": False, "B": False}
        # Another user's default is theirs.
        await new_view(client, cast.admin, "Admin's", is_default=True)
        mine = {
            v["name"]: v["is_default"]
            for v in (await client.get(API, headers=cast.agent.headers)).json()
        }
        assert mine == {"A": False, "B": False}


VIEWS = "{ views { id name query position isDefault } }"
CREATE = """
mutation($i: CreateViewInput!) { createView(input: $i) { id name query position isDefault } }
"""
UPDATE = """
mutation($i: UpdateViewInput!) { updateView(input: $i) { id name query isDefault } }
"""
DELETE = "mutation($id: ID!) { deleteView(id: $id) }"


async def gql(client, actor, query: str, variables: dict[str, Any] | None = None) -> dict:
    r = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=actor.headers
    )
    assert r.status_code == 200, r.text
    return r.json()


def codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


class TestGraphQL:
    async def test_same_views_and_rules_as_rest(self, client, cast: Cast):
        created = await gql(
            client, cast.agent, CREATE, {"i": {"name": "Urgent", "query": QUERY, "isDefault": True}}
        )
        assert "errors" not in created, created
        view = created["data"]["createView"]
        rest = (await client.get(API, headers=cast.agent.headers)).json()
        assert [(v["id"], v["name"], v["query"], v["is_default"]) for v in rest] == [
            (view["id"], "Urgent", view["query"], True)
        ]
        listed = await gql(client, cast.agent, VIEWS)
        assert listed["data"]["views"] == [
            {
                "id": view["id"],
                "name": "Urgent",
                "query": rest[0]["query"],
                "position": 0,
                "isDefault": True,
            }
        ]
        updated = await gql(
            client,
            cast.agent,
            UPDATE,
            {"i": {"id": view["id"], "name": "Hot", "query": {"priority": "high"}}},
        )
        assert updated["data"]["updateView"] == {
            "id": view["id"],
            "name": "Hot",
            "query": {"priority": "high"},
            "isDefault": True,
        }
        deleted = await gql(client, cast.agent, DELETE, {"id": view["id"]})
        assert deleted["data"]["deleteView"] == view["id"]
        assert (await gql(client, cast.agent, VIEWS))["data"]["views"] == []

    async def test_validation_conflicts_ownership_and_customers(self, client, cast: Cast):
        bad = await gql(client, cast.agent, CREATE, {"i": {"name": "x", "query": {"colour": 1}}})
        assert codes(bad) == ["validation-error"]
        assert bad["errors"][0]["extensions"]["errors"][0]["loc"] == ["input", "query", "colour"]
        await new_view(client, cast.agent, "Taken")
        dup = await gql(client, cast.agent, CREATE, {"i": {"name": "taken"}})
        assert codes(dup) == ["name-taken"]
        theirs = await new_view(client, cast.admin, "Admin's")
        for body in (
            await gql(client, cast.agent, UPDATE, {"i": {"id": theirs["id"], "name": "mine"}}),
            await gql(client, cast.agent, DELETE, {"id": theirs["id"]}),
        ):
            assert codes(body) == ["view-not-found"]
        assert [v["name"] for v in (await gql(client, cast.agent, VIEWS))["data"]["views"]] == [
            "Taken"
        ]
        assert codes(await gql(client, cast.alice, VIEWS)) == ["permission-denied"]
        assert codes(await gql(client, cast.alice, CREATE, {"i": {"name": "x"}})) == [
            "permission-denied"
        ]


class TestHostileInput:
    @pytest.mark.parametrize(
        "body",
        [
            {"name": "nul\u0000name"},
            {"name": "x", "query": {"q": "a\u0000b"}},
            {"name": "x", "query": {"metadata": {"plan": "a\u0000b"}}},
        ],
    )
    async def test_nul_characters_are_a_422_not_a_500(self, client, cast: Cast, body):
        r = await client.post(API, json=body, headers=cast.agent.headers)
        assert r.status_code == 422, r.text
