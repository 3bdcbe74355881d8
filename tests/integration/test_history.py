"""Ticket history written by database triggers, read through GET /tickets/{id}/history."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, update

from helpline.models import ApiKey, Ticket, TicketHistory
from tests.fixtures.actors import Cast

pytestmark = pytest.mark.integration

API = "/api/v1/tickets"


def rid() -> str:
    return f"req-{uuid.uuid4().hex[:12]}"


async def create_ticket(client, actor, request_id: str | None = None, **body) -> dict:
    headers = {**actor.headers, "X-Request-ID": request_id or rid()}
    response = await client.post(API, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def history_rows(session, ticket_id) -> list[TicketHistory]:
    stmt = select(TicketHistory).where(TicketHistory.ticket_id == uuid.UUID(ticket_id))
    return list((await session.execute(stmt.order_by(TicketHistory.id))).scalars())


async def key_id(session, user_id) -> uuid.UUID:
    return (await session.execute(select(ApiKey.id).where(ApiKey.user_id == user_id))).scalar_one()


async def staff_ticket(client, cast: Cast, **extra) -> dict:
    return await create_ticket(
        client,
        cast.agent,
        title="Printer",
        description="Smoke",
        customer_id=str(cast.alice.id),
        **extra,
    )


class TestHistoryRows:
    async def test_create_writes_one_created_entry(self, client, cast: Cast, session):
        request_id = rid()
        ticket = await create_ticket(
            client,
            cast.agent,
            request_id,
            title="Printer",
            priority="high",
            customer_id=str(cast.alice.id),
            assigned_to=str(cast.agent.id),
        )
        rows = await history_rows(session, ticket["id"])
        assert [r.change_type for r in rows] == ["created"]
        created = rows[0]
        assert created.changed_by == cast.agent.id
        assert created.request_id == request_id
        assert created.old_value is None
        assert created.new_value == {
            "title": "Printer",
            "status": "new",
            "priority": "high",
            "assigned_to": str(cast.agent.id),
            "customer_id": str(cast.alice.id),
        }

    async def test_patch_of_three_fields_is_three_rows_in_one_change_set(
        self, client, cast: Cast, session
    ):
        ticket = await staff_ticket(client, cast)
        request_id = rid()
        r = await client.patch(
            f"{API}/{ticket['id']}",
            json={
                "status": "open",
                "priority": "urgent",
                "title": "Printer on fire",
                "description": "Smoke",
            },  # description unchanged: no row
            headers={**cast.admin.headers, "X-Request-ID": request_id},
        )
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 2
        rows = [r for r in await history_rows(session, ticket["id"]) if r.change_type != "created"]
        assert {(r.change_type, r.old_value, r.new_value) for r in rows} == {
            ("status_changed", "new", "open"),
            ("priority_changed", "normal", "urgent"),
            ("title_changed", "Printer", "Printer on fire"),
        }
        assert {r.change_set_id for r in rows} == {rows[0].change_set_id}
        assert {r.request_id for r in rows} == {request_id}
        assert {r.changed_by for r in rows} == {cast.admin.id}
        created = (await history_rows(session, ticket["id"]))[0]
        assert created.change_set_id != rows[0].change_set_id

    async def test_unchanged_patch_writes_nothing(self, client, cast: Cast, session):
        ticket = await staff_ticket(client, cast)
        r = await client.patch(
            f"{API}/{ticket['id']}",
            json={"title": "Printer", "status": "new"},
            headers=cast.agent.headers,
        )
        assert r.status_code == 200
        assert r.json()["version"] == 1
        assert [r.change_type for r in await history_rows(session, ticket["id"])] == ["created"]

    async def test_assignee_metadata_messages_and_delete(self, client, cast: Cast, session):
        ticket = await staff_ticket(client, cast)
        tid = ticket["id"]
        h = cast.agent.headers
        assert (
            await client.patch(f"{API}/{tid}", json={"assigned_to": str(cast.agent.id)}, headers=h)
        ).status_code == 200
        assert (
            await client.put(f"{API}/{tid}/metadata/order", json={"value": 42}, headers=h)
        ).status_code in (200, 204)
        assert (
            await client.put(f"{API}/{tid}/metadata/order", json={"value": 43}, headers=h)
        ).status_code in (200, 204)
        assert (
            await client.put(f"{API}/{tid}/metadata/order", json={"value": 43}, headers=h)
        ).status_code in (200, 204)  # same value: no row
        assert (await client.delete(f"{API}/{tid}/metadata/order", headers=h)).status_code == 204
        r = await client.post(
            f"{API}/{tid}/conversations",
            json={"message": "Internal remark", "is_internal": True},
            headers=h,
        )
        assert r.status_code == 201, r.text
        message_id = r.json()["id"]
        assert (await client.delete(f"{API}/{tid}", headers=h)).status_code == 204
        rows = await history_rows(session, tid)
        assert [(r.change_type, r.old_value, r.new_value) for r in rows[1:]] == [
            ("assignee_changed", None, str(cast.agent.id)),
            ("metadata_set", None, {"key": "order", "value": 42}),
            ("metadata_set", {"key": "order", "value": 42}, {"key": "order", "value": 43}),
            ("metadata_removed", {"key": "order", "value": 43}, None),
            (
                "message_added",
                None,
                {
                    "message_id": message_id,
                    "sender_id": str(cast.agent.id),
                    "sender_type": "agent",
                    "is_internal": True,
                    "excerpt": "Internal remark",
                },
            ),
            ("deleted", None, rows[-1].new_value),
        ]
        assert len({r.change_set_id for r in rows}) == len(rows)  # one request each

    async def test_rolled_back_change_leaves_no_history(self, client, cast: Cast, session):
        ticket = await staff_ticket(client, cast)
        tid = uuid.UUID(ticket["id"])
        savepoint = await session.begin_nested()
        await session.execute(update(Ticket).where(Ticket.id == tid).values(status="open"))
        assert len(await history_rows(session, ticket["id"])) == 2
        await savepoint.rollback()
        assert [r.change_type for r in await history_rows(session, ticket["id"])] == ["created"]

    async def test_failed_request_leaves_no_history(self, client, cast: Cast, session):
        ticket = await staff_ticket(client, cast)
        r = await client.patch(
            f"{API}/{ticket['id']}",
            json={"status": "open", "assigned_to": str(cast.bob.id)},
            headers=cast.agent.headers,
        )
        assert r.status_code == 422  # bob is no agent: the whole request rolls back
        assert [r.change_type for r in await history_rows(session, ticket["id"])] == ["created"]

    async def test_change_without_actor_context_has_no_changed_by(self, cast: Cast, session):
        from tests.fixtures.factories import make_ticket

        tid = await make_ticket(session, cast.alice.id)
        rows = await history_rows(session, str(tid))
        assert rows[0].change_type == "created"
        assert rows[0].changed_by is None


class TestHistoryEndpoint:
    async def test_staff_sees_everything_paginated(self, client, cast: Cast):
        ticket = await staff_ticket(client, cast)
        tid = ticket["id"]
        for status in ("open", "pending", "on_hold", "open"):
            r = await client.patch(
                f"{API}/{tid}", json={"status": status}, headers=cast.agent.headers
            )
            assert r.status_code == 200
        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            r = await client.get(f"{API}/{tid}/history", params=params, headers=cast.agent.headers)
            assert r.status_code == 200, r.text
            body = r.json()
            seen += body["data"]
            cursor = body["meta"]["next_cursor"]
            assert body["meta"]["has_more"] is (cursor is not None)
            if cursor is None:
                break
        assert [e["change_type"] for e in seen] == ["created"] + ["status_changed"] * 4
        assert [e["new_value"] for e in seen[1:]] == ["open", "pending", "on_hold", "open"]
        assert set(seen[0]) == {
            "id",
            "ticket_id",
            "change_type",
            "changed_by",
            "timestamp",
            "old_value",
            "new_value",
            "change_set_id",
            "request_id",
        }
        ids = [e["id"] for e in seen]
        assert ids == sorted(ids)

    async def test_filter_by_change_set(self, client, cast: Cast):
        ticket = await staff_ticket(client, cast)
        tid = ticket["id"]
        await client.patch(
            f"{API}/{tid}", json={"status": "open", "priority": "low"}, headers=cast.agent.headers
        )
        await client.patch(f"{API}/{tid}", json={"title": "Renamed"}, headers=cast.agent.headers)
        all_entries = (await client.get(f"{API}/{tid}/history", headers=cast.agent.headers)).json()[
            "data"
        ]
        change_set = all_entries[1]["change_set_id"]
        r = await client.get(
            f"{API}/{tid}/history", params={"change_set_id": change_set}, headers=cast.agent.headers
        )
        assert sorted(e["change_type"] for e in r.json()["data"]) == [
            "priority_changed",
            "status_changed",
        ]

    async def test_customer_sees_only_public_history(self, client, cast: Cast):
        ticket = await staff_ticket(client, cast, priority="high", assigned_to=str(cast.agent.id))
        tid = ticket["id"]
        h = cast.agent.headers
        await client.patch(f"{API}/{tid}", json={"priority": "urgent", "status": "open"}, headers=h)
        await client.post(
            f"{API}/{tid}/conversations",
            json={"message": "secret note", "is_internal": True},
            headers=h,
        )
        await client.post(f"{API}/{tid}/conversations", json={"message": "Hello!"}, headers=h)
        r = await client.get(f"{API}/{tid}/history", headers=cast.alice.headers)
        assert r.status_code == 200, r.text
        entries = r.json()["data"]
        assert [e["change_type"] for e in entries] == [
            "created",
            "status_changed",
            "message_added",
        ]
        assert "priority" not in entries[0]["new_value"]
        assert "assigned_to" not in entries[0]["new_value"]
        assert entries[2]["new_value"]["excerpt"] == "Hello!"
        assert "secret note" not in r.text
        staff = (await client.get(f"{API}/{tid}/history", headers=h)).json()["data"]
        assert len(staff) == 5

    async def test_other_customer_gets_404(self, client, cast: Cast):
        ticket = await staff_ticket(client, cast)
        r = await client.get(f"{API}/{ticket['id']}/history", headers=cast.bob.headers)
        assert r.status_code == 404
        assert r.json()["type"] == "/problems/ticket-not-found"

    async def test_bad_cursor_is_400(self, client, cast: Cast):
        ticket = await staff_ticket(client, cast)
        r = await client.get(
            f"{API}/{ticket['id']}/history", params={"cursor": "bogus"}, headers=cast.agent.headers
        )
        assert r.status_code == 400
        assert r.json()["type"] == "/problems/invalid-cursor"

    async def test_history_counts_match_rows(self, client, cast: Cast, session):
        ticket = await staff_ticket(client, cast)
        total = (
            await session.execute(
                select(func.count())
                .select_from(TicketHistory)
                .where(TicketHistory.ticket_id == uuid.UUID(ticket["id"]))
            )
        ).scalar_one()
        body = (
            await client.get(f"{API}/{ticket['id']}/history", headers=cast.agent.headers)
        ).json()
        assert len(body["data"]) == total == 1
