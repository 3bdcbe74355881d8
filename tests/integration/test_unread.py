"""Unread markers and the inbox's customer data: PUT/DELETE /api/v1/tickets/{id}/read, the
staff list's `unread` and `customer`, the `customer_id` filter, GraphQL alike."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from helpline.models import TicketReadMarker
from tests.fixtures.actors import Actor, Cast

pytestmark = pytest.mark.integration

TICKETS = "/api/v1/tickets"


async def new_ticket(client, cast: Cast, by: Actor | None = None, title: str = "Printer") -> str:
    by = by or cast.agent
    body = (
        {"title": title}
        if by is cast.alice
        else {"title": title, "customer_id": str(cast.alice.id)}
    )
    r = await client.post(TICKETS, json=body, headers=by.headers)
    assert r.status_code == 201, r.text
    tid = str(r.json()["id"])
    if by is not cast.alice:
        # A new ticket has no marker; the console opens the ticket it created, which reads it.
        assert await unread(client, by, cast, tid) is True
        read = await client.put(f"{TICKETS}/{tid}/read", json={}, headers=by.headers)
        assert read.status_code == 200, read.text
    return tid


async def listed(client, actor: Actor, customer: Actor, **params) -> dict[str, dict]:
    r = await client.get(
        TICKETS, params={"customer_id": str(customer.id), **params}, headers=actor.headers
    )
    assert r.status_code == 200, r.text
    return {t["id"]: t for t in r.json()["data"]}


async def unread(client, actor: Actor, cast: Cast, tid: str) -> bool:
    return bool((await listed(client, actor, cast.alice))[tid]["unread"])


class TestUnreadMarkers:
    async def test_others_activity_marks_unread_and_reading_clears_it(self, client, cast: Cast):
        tid = await new_ticket(client, cast)  # by the agent: read for them, new to the admin
        assert await unread(client, cast.agent, cast, tid) is False
        assert await unread(client, cast.admin, cast, tid) is True

        r = await client.put(f"{TICKETS}/{tid}/read", json={}, headers=cast.admin.headers)
        assert r.status_code == 200, r.text
        assert r.json()["unread"] is False
        assert r.json()["seen_version"] == 1
        assert await unread(client, cast.admin, cast, tid) is False

        # The admin changes it: news to the agent, not to the admin (their own change).
        r = await client.patch(
            f"{TICKETS}/{tid}", json={"priority": "high"}, headers=cast.admin.headers
        )
        assert r.status_code == 200
        assert await unread(client, cast.agent, cast, tid) is True
        assert await unread(client, cast.admin, cast, tid) is False

        # The customer writes: news to both.
        r = await client.post(
            f"{TICKETS}/{tid}/conversations",
            json={"message": "Any news?"},
            headers=cast.alice.headers,
        )
        assert r.status_code == 201
        assert await unread(client, cast.agent, cast, tid) is True
        assert await unread(client, cast.admin, cast, tid) is True

        # One reader's read does not clear the other's.
        r = await client.put(f"{TICKETS}/{tid}/read", headers=cast.agent.headers)
        assert r.status_code == 200, r.text
        assert r.json()["seen_version"] == 3
        assert await unread(client, cast.agent, cast, tid) is False
        assert await unread(client, cast.admin, cast, tid) is True

        # The agent's own reply and metadata keep it read for them.
        r = await client.post(
            f"{TICKETS}/{tid}/conversations", json={"message": "Soon."}, headers=cast.agent.headers
        )
        assert r.status_code == 201
        r = await client.put(
            f"{TICKETS}/{tid}/metadata/plan", json={"value": "pro"}, headers=cast.agent.headers
        )
        assert r.status_code in (200, 201), r.text
        assert await unread(client, cast.agent, cast, tid) is False

        # Marked unread: until next opened.
        r = await client.delete(f"{TICKETS}/{tid}/read", headers=cast.agent.headers)
        assert r.status_code == 204
        assert await unread(client, cast.agent, cast, tid) is True
        assert (
            await client.delete(f"{TICKETS}/{tid}/read", headers=cast.agent.headers)
        ).status_code == 204

    async def test_a_marker_is_the_version_seen_and_never_moves_back(
        self, client, cast: Cast, session
    ):
        tid = await new_ticket(client, cast, by=cast.alice)
        for priority in ("high", "low"):
            await client.patch(
                f"{TICKETS}/{tid}", json={"priority": priority}, headers=cast.admin.headers
            )
        url = f"{TICKETS}/{tid}/read"
        r = await client.put(url, json={"version": 2}, headers=cast.agent.headers)
        assert (r.json()["seen_version"], r.json()["unread"]) == (2, True)
        assert await unread(client, cast.agent, cast, tid) is True
        r = await client.put(url, json={"version": 1}, headers=cast.agent.headers)
        assert r.json()["seen_version"] == 2  # an older tab's late report
        r = await client.put(url, json={"version": 99}, headers=cast.agent.headers)
        assert (r.json()["seen_version"], r.json()["unread"]) == (3, False)
        assert (
            await client.put(url, json={"version": 0}, headers=cast.agent.headers)
        ).status_code == 422
        rows = (
            await session.scalars(
                select(TicketReadMarker).where(TicketReadMarker.ticket_id == uuid.UUID(tid))
            )
        ).all()
        assert [(r.user_id, r.seen_version) for r in rows] == [(cast.agent.id, 3)]

    async def test_a_user_who_had_not_read_it_does_not_catch_up_by_changing_it(
        self, client, cast: Cast
    ):
        tid = await new_ticket(client, cast, by=cast.alice)
        await client.put(f"{TICKETS}/{tid}/read", headers=cast.agent.headers)
        await client.patch(f"{TICKETS}/{tid}", json={"status": "open"}, headers=cast.admin.headers)
        # The agent changes it without having seen the admin's change: still news to them.
        await client.patch(
            f"{TICKETS}/{tid}", json={"priority": "high"}, headers=cast.agent.headers
        )
        assert await unread(client, cast.agent, cast, tid) is True

    async def test_bulk_changes_by_a_reader_keep_their_tickets_read(self, client, cast: Cast):
        ids = [await new_ticket(client, cast, by=cast.alice, title=f"T{i}") for i in range(3)]
        for tid in ids:
            await client.put(f"{TICKETS}/{tid}/read", headers=cast.agent.headers)
        r = await client.post(
            f"{TICKETS}/bulk",
            json={"ticket_ids": ids, "changes": {"status": "pending"}},
            headers=cast.agent.headers,
        )
        assert r.json()["updated"] == 3
        page = await listed(client, cast.agent, cast.alice)
        assert [page[t]["unread"] for t in ids] == [False, False, False]
        page = await listed(client, cast.admin, cast.alice)
        assert [page[t]["unread"] for t in ids] == [True, True, True]

    async def test_customers_have_no_markers_and_see_no_staff_fields(self, client, cast: Cast):
        tid = await new_ticket(client, cast)
        r = await client.get(TICKETS, headers=cast.alice.headers)
        [item] = [t for t in r.json()["data"] if t["id"] == tid]
        assert "unread" not in item
        assert "customer" not in item
        assert "sla" not in item
        r = await client.put(f"{TICKETS}/{tid}/read", headers=cast.alice.headers)
        assert r.status_code == 403
        assert r.json()["type"].endswith("permission-denied")
        assert (
            await client.delete(f"{TICKETS}/{tid}/read", headers=cast.alice.headers)
        ).status_code == 403

    async def test_unknown_or_deleted_ticket_is_404(self, client, cast: Cast):
        r = await client.put(f"{TICKETS}/{uuid.uuid4()}/read", headers=cast.agent.headers)
        assert r.status_code == 404
        assert r.json()["type"].endswith("ticket-not-found")
        tid = await new_ticket(client, cast)
        assert (
            await client.delete(f"{TICKETS}/{tid}", headers=cast.admin.headers)
        ).status_code == 204
        assert (
            await client.put(f"{TICKETS}/{tid}/read", headers=cast.agent.headers)
        ).status_code == 404
        assert (
            await client.delete(f"{TICKETS}/{tid}/read", headers=cast.agent.headers)
        ).status_code == 404

    async def test_cached_pages_are_per_reader_and_follow_their_markers(self, client, cast: Cast):
        tid = await new_ticket(client, cast, by=cast.alice)
        query = {"limit": 7}  # the same normalized query for both readers
        assert (await listed(client, cast.agent, cast.alice, **query))[tid]["unread"] is True
        await client.put(f"{TICKETS}/{tid}/read", headers=cast.admin.headers)
        # The admin's page is not the agent's cached one, and reflects their read at once.
        assert (await listed(client, cast.admin, cast.alice, **query))[tid]["unread"] is False
        assert (await listed(client, cast.agent, cast.alice, **query))[tid]["unread"] is True
        await client.put(f"{TICKETS}/{tid}/read", headers=cast.agent.headers)
        assert (await listed(client, cast.agent, cast.alice, **query))[tid]["unread"] is False
        await client.delete(f"{TICKETS}/{tid}/read", headers=cast.agent.headers)
        assert (await listed(client, cast.agent, cast.alice, **query))[tid]["unread"] is True


class TestCustomerColumnAndFilter:
    async def test_staff_items_carry_the_customer(self, client, cast: Cast, session):
        from helpline.models import User

        tid = await new_ticket(client, cast)
        alice = await session.get(User, cast.alice.id)
        item = (await listed(client, cast.agent, cast.alice))[tid]
        assert item["customer"] == {
            "id": str(cast.alice.id),
            "name": alice.name,
            "email": alice.email,
        }

    async def test_customer_id_filter(self, client, cast: Cast):
        mine = await new_ticket(client, cast)
        r = await client.post(
            TICKETS,
            json={"title": "Bob's", "customer_id": str(cast.bob.id)},
            headers=cast.agent.headers,
        )
        bobs = r.json()["id"]
        assert set(await listed(client, cast.agent, cast.alice)) >= {mine}
        assert bobs not in await listed(client, cast.agent, cast.alice)
        assert set(await listed(client, cast.agent, cast.bob)) == {bobs}
        # A customer filtering by someone else's id sees nothing of theirs.
        assert await listed(client, cast.bob, cast.alice) == {}
        assert set(await listed(client, cast.alice, cast.alice)) >= {mine}


TICKETS_QUERY = """
query($c: ID!) { tickets(filter: {customerId: $c}, first: 10) {
  nodes { id unread customer { id name email } } } }
"""
TICKET_QUERY = "query($id: ID!) { ticket(id: $id) { id unread } }"
MARK_READ = """
mutation($t: ID!, $v: Int) { markTicketRead(input: {ticketId: $t, version: $v}) {
  ticketId seenVersion unread } }
"""
MARK_UNREAD = "mutation($t: ID!) { markTicketUnread(input: {ticketId: $t}) { ticketId } }"


async def gql(client, actor: Actor, query: str, **variables) -> dict:
    r = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=actor.headers
    )
    assert r.status_code == 200, r.text
    return r.json()


class TestGraphQL:
    async def test_unread_and_markers_as_rest(self, client, cast: Cast):
        tid = await new_ticket(client, cast, by=cast.alice)
        body = await gql(client, cast.agent, TICKETS_QUERY, c=str(cast.alice.id))
        [node] = [n for n in body["data"]["tickets"]["nodes"] if n["id"] == tid]
        assert node["unread"] is True
        assert node["customer"]["id"] == str(cast.alice.id)
        body = await gql(client, cast.agent, MARK_READ, t=tid, v=None)
        assert body["data"]["markTicketRead"] == {
            "ticketId": tid,
            "seenVersion": 1,
            "unread": False,
        }
        assert (await gql(client, cast.agent, TICKET_QUERY, id=tid))["data"]["ticket"][
            "unread"
        ] is False
        assert await unread(client, cast.agent, cast, tid) is False
        body = await gql(client, cast.agent, MARK_UNREAD, t=tid)
        assert body["data"]["markTicketUnread"] == {"ticketId": tid}
        assert (await gql(client, cast.agent, TICKET_QUERY, id=tid))["data"]["ticket"][
            "unread"
        ] is True

    async def test_customers_get_null_and_403(self, client, cast: Cast):
        tid = await new_ticket(client, cast, by=cast.alice)
        assert (await gql(client, cast.alice, TICKET_QUERY, id=tid))["data"]["ticket"][
            "unread"
        ] is None
        body = await gql(client, cast.alice, MARK_READ, t=tid, v=None)
        assert body["errors"][0]["extensions"]["status"] == 403
        body = await gql(client, cast.alice, MARK_UNREAD, t=tid)
        assert body["errors"][0]["extensions"]["status"] == 403
