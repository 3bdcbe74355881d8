"""Drafts per user and ticket: GET/PUT/DELETE /api/v1/tickets/{id}/draft."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from helpline.models import TicketDraft
from tests.fixtures.actors import Cast

pytestmark = pytest.mark.integration

TICKETS = "/api/v1/tickets"


async def ticket_of(client, cast: Cast) -> str:
    r = await client.post(
        TICKETS,
        json={"title": "Printer", "customer_id": str(cast.alice.id)},
        headers=cast.agent.headers,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


class TestDrafts:
    async def test_saved_read_replaced_and_discarded(self, client, cast: Cast, session):
        tid = await ticket_of(client, cast)
        url = f"{TICKETS}/{tid}/draft"
        r = await client.get(url, headers=cast.agent.headers)
        assert r.status_code == 404
        assert r.json()["type"].endswith("draft-not-found")
        r = await client.put(url, json={"body": "Dear Alice,"}, headers=cast.agent.headers)
        assert r.status_code == 200, r.text
        assert r.json()["body"] == "Dear Alice,"
        assert r.json()["is_internal"] is False
        r = await client.put(
            url, json={"body": "Check the fuse", "is_internal": True}, headers=cast.agent.headers
        )
        got = (await client.get(url, headers=cast.agent.headers)).json()
        assert (got["body"], got["is_internal"]) == ("Check the fuse", True)
        rows = await session.scalar(select(func.count()).select_from(TicketDraft))
        assert rows == 1
        assert (await client.delete(url, headers=cast.agent.headers)).status_code == 204
        assert (await client.get(url, headers=cast.agent.headers)).status_code == 404
        assert (await client.delete(url, headers=cast.agent.headers)).status_code == 204

    async def test_each_user_has_their_own(self, client, cast: Cast):
        tid = await ticket_of(client, cast)
        url = f"{TICKETS}/{tid}/draft"
        await client.put(url, json={"body": "agent's"}, headers=cast.agent.headers)
        await client.put(url, json={"body": "admin's"}, headers=cast.admin.headers)
        await client.put(url, json={"body": "alice's"}, headers=cast.alice.headers)
        for actor, body in (
            (cast.agent, "agent's"),
            (cast.admin, "admin's"),
            (cast.alice, "alice's"),
        ):
            assert (await client.get(url, headers=actor.headers)).json()["body"] == body

    async def test_only_on_a_visible_ticket_and_notes_only_for_staff(self, client, cast: Cast):
        tid = await ticket_of(client, cast)
        url = f"{TICKETS}/{tid}/draft"
        r = await client.put(url, json={"body": "hi"}, headers=cast.bob.headers)  # not bob's
        assert r.status_code == 404
        assert r.json()["type"].endswith("ticket-not-found")
        r = await client.put(
            url, json={"body": "hi", "is_internal": True}, headers=cast.alice.headers
        )
        assert r.status_code == 403
        r = await client.put(
            f"{TICKETS}/{uuid.uuid4()}/draft", json={"body": "x"}, headers=cast.agent.headers
        )
        assert r.status_code == 404
        r = await client.put(url, json={"body": "x" * 100_001}, headers=cast.agent.headers)
        assert r.status_code == 422
