"""What tickets show of their SLA: the `sla` block (REST and GraphQL) and the due-time queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from helpline.sla import service
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_message, make_ticket

pytestmark = pytest.mark.integration

H = 3600
T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
POLICY = {
    "name": "Calendar time",
    "position": 0,
    "targets": {
        p: {
            "first_response": {"seconds": H * (1 if p == "urgent" else 4), "business": False},
            "resolution": {"seconds": 24 * H, "business": False},
        }
        for p in ("normal", "urgent")
    },
}


@pytest.fixture
async def tickets(client, cast: Cast, session) -> list[uuid.UUID]:
    r = await client.post("/api/v1/sla-policies", json=POLICY, headers=cast.admin.headers)
    assert r.status_code == 201, r.text
    ids = [
        await make_ticket(session, cast.alice.id, created_at=T0, priority="normal"),  # due 12:00
        await make_ticket(session, cast.alice.id, created_at=T0, priority="urgent"),  # due 09:00
        await make_ticket(session, cast.bob.id, created_at=T0 - timedelta(hours=2)),  # due 10:00
        await make_ticket(session, cast.bob.id, created_at=T0, priority="low"),  # no target
    ]
    # The third got a reply: its first response is done, resolution runs (due next day 06:00).
    await make_message(
        session, ids[2], cast.agent.id, sender_type="agent", timestamp=T0 - timedelta(hours=1)
    )
    await session.flush()
    await service.derive_tickets(session, ids, T0 + timedelta(minutes=90))
    return ids


class TestTicketSla:
    async def test_block_over_rest(self, client, cast: Cast, tickets) -> None:
        r = await client.get(f"/api/v1/tickets/{tickets[1]}/sla", headers=cast.agent.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["policy_name"] == "Calendar time"
        assert body["first_response_due_at"] == "2026-12-07T09:00:00Z"
        assert body["resolution_due_at"] == "2026-12-08T08:00:00Z"
        assert body["next_response_due_at"] is None
        assert body["breached"] == ["first_response"]  # 09:00 passed at 09:30
        low = await client.get(f"/api/v1/tickets/{tickets[3]}/sla", headers=cast.agent.headers)
        assert low.json()["policy"] is not None  # the policy applies, with no target for low
        assert low.json()["first_response_due_at"] is None

    async def test_customers_are_refused(self, client, cast: Cast, tickets) -> None:
        r = await client.get(f"/api/v1/tickets/{tickets[0]}/sla", headers=cast.alice.headers)
        assert r.status_code == 403
        assert r.json()["type"] == "/problems/permission-denied"
        r = await client.get("/api/v1/sla/queue", headers=cast.alice.headers)
        assert r.status_code == 403

    async def test_block_over_graphql(self, client, cast: Cast, tickets) -> None:
        query = (
            "query($id: ID!) { ticket(id: $id) { number sla { policyName firstResponseDueAt"
            " resolutionDueAt paused breached } } }"
        )
        r = await client.post(
            "/graphql",
            json={"query": query, "variables": {"id": str(tickets[0])}},
            headers=cast.agent.headers,
        )
        sla = r.json()["data"]["ticket"]["sla"]
        assert sla == {
            "policyName": "Calendar time",
            "firstResponseDueAt": "2026-12-07T12:00:00+00:00",
            "resolutionDueAt": "2026-12-08T08:00:00+00:00",
            "paused": False,
            "breached": [],
        }
        r = await client.post(
            "/graphql",
            json={"query": query, "variables": {"id": str(tickets[0])}},
            headers=cast.alice.headers,
        )
        assert r.json()["data"]["ticket"]["sla"] is None


class TestQueue:
    async def test_earliest_deadline_first_with_keyset_pages(
        self, client, cast: Cast, tickets
    ) -> None:
        r = await client.get("/api/v1/sla/queue?limit=2", headers=cast.agent.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert [t["id"] for t in page["data"]] == [str(tickets[1]), str(tickets[0])]
        assert page["data"][0]["due_at"] == "2026-12-07T09:00:00Z"
        assert page["meta"]["has_more"] is True
        r = await client.get(
            f"/api/v1/sla/queue?limit=2&cursor={page['meta']['next_cursor']}",
            headers=cast.agent.headers,
        )
        assert [t["id"] for t in r.json()["data"]] == [str(tickets[2])]
        assert r.json()["data"][0]["due_at"] == "2026-12-08T06:00:00Z"
        assert r.json()["meta"] == {"next_cursor": None, "has_more": False}

    async def test_filters(self, client, cast: Cast, tickets) -> None:
        r = await client.get("/api/v1/sla/queue?breached=true", headers=cast.agent.headers)
        assert [t["id"] for t in r.json()["data"]] == [str(tickets[1])]
        r = await client.get("/api/v1/sla/queue?priority=normal", headers=cast.agent.headers)
        assert [t["id"] for t in r.json()["data"]] == [str(tickets[0]), str(tickets[2])]
        r = await client.get("/api/v1/sla/queue?status=solved", headers=cast.agent.headers)
        assert r.json()["data"] == []
        r = await client.get("/api/v1/sla/queue?status=nope", headers=cast.agent.headers)
        assert r.status_code == 422
        r = await client.get("/api/v1/sla/queue?cursor=forged", headers=cast.agent.headers)
        assert r.status_code == 400
        assert r.json()["type"] == "/problems/invalid-cursor"
