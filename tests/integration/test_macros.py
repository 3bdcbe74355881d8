"""Macros (issue 25, item 2): templates checked at save, hostile ones refused, apply, usage."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.fixtures.actors import Cast

pytestmark = pytest.mark.integration

API = "/api/v1/macros"
BODY = (
    "Hi {{ customer.name }}, about #{{ ticket.number }} ({{ ticket.title }}). -- {{ agent.name }}"
)


async def new_ticket(client, cast: Cast) -> dict:
    r = await client.post(
        "/api/v1/tickets",
        json={"title": "Printer", "customer_id": str(cast.alice.id)},
        headers=cast.agent.headers,
    )
    return r.json()


async def new_macro(client, actor, **body) -> dict:
    r = await client.post(API, json={"name": "M", "body": BODY, **body}, headers=actor.headers)
    assert r.status_code == 201, r.text
    return r.json()


class TestTemplates:
    async def test_unknown_placeholders_are_named_in_the_422(self, client, cast):
        r = await client.post(
            API,
            json={"name": "x", "body": "{{ ticket.secret }} {{ user.password }}"},
            headers=cast.agent.headers,
        )
        assert r.status_code == 422
        body = r.json()
        assert body["type"] == "/problems/template-refused"
        assert [e["msg"] for e in body["errors"]] == [
            "unknown placeholder: ticket.secret",
            "unknown placeholder: user.password",
        ]

    @pytest.mark.parametrize(
        "hostile",
        [
            "{{ ticket.__class__ }}",
            "{{ ticket.title.__class__.__mro__ }}",
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
            "{% for i in range(999999999) %}x{% endfor %}",
            "{% set x = 'a' * 99999999 %}{{ x }}",
            "{{ ticket.title * 99999999 }}",
            "{{ ticket['title'] }}",
            "{{ ticket.title|attr('__class__') }}",
            "{% include '/etc/passwd' %}",
            "{{ lipsum() }}",
            "{{ ticket.title",
        ],
    )
    async def test_hostile_templates_are_refused_when_saving(self, client, cast, hostile):
        r = await client.post(API, json={"name": "x", "body": hostile}, headers=cast.agent.headers)
        assert r.status_code == 422
        assert r.json()["type"] == "/problems/template-refused"
        assert r.json()["errors"]

    async def test_note_templates_of_actions_are_checked_too(self, client, cast):
        r = await client.post(
            API,
            json={
                "name": "x",
                "body": "ok",
                "actions": [{"type": "internal_note", "body": "{{ ticket.nope }}"}],
            },
            headers=cast.agent.headers,
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "actions", 0, "body"]


class TestVisibility:
    async def test_personal_macros_are_their_owners_and_shared_ones_admins(self, client, cast):
        mine = await new_macro(client, cast.agent)
        assert mine["owner_id"] == str(cast.agent.id)
        denied = await client.post(
            API, json={"name": "s", "body": "x", "shared": True}, headers=cast.agent.headers
        )
        assert denied.status_code == 403
        shared = await new_macro(client, cast.admin, shared=True)
        assert shared["owner_id"] is None
        listed = await client.get(API, headers=cast.agent.headers)
        assert {m["id"] for m in listed.json()} == {mine["id"], shared["id"]}
        admin_list = await client.get(API, headers=cast.admin.headers)
        assert mine["id"] not in {m["id"] for m in admin_list.json()}
        assert (
            await client.get(f"{API}/{mine['id']}", headers=cast.admin.headers)
        ).status_code == 404
        change = await client.patch(
            f"{API}/{shared['id']}", json={"name": "y"}, headers=cast.agent.headers
        )
        assert change.status_code == 403
        assert (await client.get(API, headers=cast.alice.headers)).status_code == 403


class TestApply:
    async def test_preview_renders_and_changes_nothing(self, client, cast, session):
        ticket = await new_ticket(client, cast)
        macro = await new_macro(
            client,
            cast.agent,
            actions=[
                {"type": "set", "field": "status", "value": "pending"},
                {"type": "add_tags", "tags": ["printer"]},
            ],
        )
        r = await client.post(
            f"{API}/{macro['id']}/apply",
            json={"ticket_id": ticket["id"]},
            headers=cast.agent.headers,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["applied"] is False
        assert body["reply"].startswith("Hi Customer")
        assert f"#{ticket['number']} (Printer)" in body["reply"]
        assert body["changes"] == [
            {"type": "set", "field": "status", "from": "new", "to": "pending"},
            {"type": "tags", "from": [], "to": ["printer"]},
        ]
        after = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=cast.agent.headers)
        assert after.json()["version"] == 1
        assert (await client.get(f"{API}/{macro['id']}", headers=cast.agent.headers)).json()[
            "usage_count"
        ] == 0

    async def test_apply_changes_the_ticket_as_the_agent_and_counts(self, client, cast, session):
        ticket = await new_ticket(client, cast)
        macro = await new_macro(
            client,
            cast.agent,
            actions=[
                {"type": "set", "field": "priority", "value": "high"},
                {"type": "add_tags", "tags": ["printer"]},
                {"type": "internal_note", "body": "Macro used on {{ ticket.title }}"},
            ],
        )
        r = await client.post(
            f"{API}/{macro['id']}/apply",
            json={"ticket_id": ticket["id"], "apply": True},
            headers=cast.agent.headers,
        )
        body = r.json()
        assert body["applied"] is True
        assert body["ticket"]["priority"] == "high"
        assert body["ticket"]["tags"] == ["printer"]
        assert [c["type"] for c in body["changes"]] == ["set", "tags", "internal_note"]
        history = await client.get(
            f"/api/v1/tickets/{ticket['id']}/history", headers=cast.agent.headers
        )
        changed_by = {
            h["changed_by"] for h in history.json()["data"] if h["change_type"] != "created"
        }
        assert changed_by == {str(cast.agent.id)}
        notes = await client.get(
            f"/api/v1/tickets/{ticket['id']}/conversations", headers=cast.alice.headers
        )
        assert notes.json()["data"] == []  # the internal note is not the customer's
        got = (await client.get(f"{API}/{macro['id']}", headers=cast.agent.headers)).json()
        assert got["usage_count"] == 1
        assert got["last_used_at"] is not None
        audit = (
            await session.execute(
                text("SELECT count(*) FROM audit_log WHERE entity_id = :m"), {"m": macro["id"]}
            )
        ).scalar()
        assert audit == 1  # created; usage counting is not an audited change

    async def test_rule_only_actions_are_refused(self, client, cast):
        r = await client.post(
            API,
            json={
                "name": "x",
                "body": "",
                "actions": [
                    {"type": "webhook", "endpoint_id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b20"}
                ],
            },
            headers=cast.agent.headers,
        )
        assert r.status_code == 422
