"""Presence on tickets (PUT/DELETE /tickets/{id}/presence, GET /presence): kept in the real
Redis with an expiry read from the app's clock — the test moves the clock, nothing sleeps —
and announced on the presence channel the event streams listen to."""

from __future__ import annotations

import json
import uuid

import pytest

from helpline.kit.cache import presence_channel
from tests.fixtures.actors import Cast

pytestmark = pytest.mark.integration


def url(ticket_id: uuid.UUID | str) -> str:
    return f"/api/v1/tickets/{ticket_id}/presence"


class TestPresence:
    async def test_presence_appears_changes_and_expires_with_the_clock(
        self, client, cast: Cast, clock
    ):
        ticket = uuid.uuid4()
        r = await client.put(url(ticket), json={"state": "viewing"}, headers=cast.agent.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["ttl_s"] == 30
        assert [(p["user_id"], p["state"]) for p in body["data"]] == [
            (str(cast.agent.id), "viewing")
        ]
        r = await client.put(url(ticket), json={"state": "replying"}, headers=cast.admin.headers)
        assert {(p["user_id"], p["state"]) for p in r.json()["data"]} == {
            (str(cast.agent.id), "viewing"),
            (str(cast.admin.id), "replying"),
        }
        clock.advance(seconds=20)
        # The agent renews; the admin does not.
        await client.put(url(ticket), json={"state": "viewing"}, headers=cast.agent.headers)
        clock.advance(seconds=11)  # 31 s after the admin's last word
        listed = (await client.get("/api/v1/presence", headers=cast.agent.headers)).json()
        assert [(p["ticket_id"], p["user_id"]) for p in listed["data"]] == [
            (str(ticket), str(cast.agent.id))
        ]
        clock.advance(seconds=30)
        listed = (await client.get("/api/v1/presence", headers=cast.agent.headers)).json()
        assert listed["data"] == []

    async def test_leaving_removes_at_once_and_listing_filters_by_ticket(self, client, cast: Cast):
        one, two = uuid.uuid4(), uuid.uuid4()
        await client.put(url(one), json={"state": "viewing"}, headers=cast.agent.headers)
        await client.put(url(two), json={"state": "viewing"}, headers=cast.agent.headers)
        r = await client.get(
            "/api/v1/presence", params={"ticket_id": str(two)}, headers=cast.agent.headers
        )
        assert [p["ticket_id"] for p in r.json()["data"]] == [str(two)]
        r = await client.delete(url(two), headers=cast.agent.headers)
        assert r.status_code == 204
        r = await client.get("/api/v1/presence", headers=cast.agent.headers)
        assert [p["ticket_id"] for p in r.json()["data"]] == [str(one)]

    async def test_customers_have_no_presence(self, client, cast: Cast):
        ticket = uuid.uuid4()
        r = await client.put(url(ticket), json={"state": "viewing"}, headers=cast.alice.headers)
        assert r.status_code == 403
        assert r.json()["type"].endswith("permission-denied")
        await client.put(url(ticket), json={"state": "viewing"}, headers=cast.agent.headers)
        r = await client.get("/api/v1/presence", headers=cast.alice.headers)
        assert r.status_code == 403
        assert str(cast.agent.id) not in r.text

    async def test_arrivals_changes_and_departures_are_announced_once(
        self, client, cast: Cast, redis, settings
    ):
        pubsub = redis.pubsub()
        await pubsub.subscribe(presence_channel(settings.redis_key_prefix))
        await pubsub.get_message(timeout=1)  # the subscribe confirmation
        ticket = uuid.uuid4()
        for state in ("viewing", "viewing", "replying"):  # a renewal announces nothing
            await client.put(url(ticket), json={"state": state}, headers=cast.agent.headers)
        await client.delete(url(ticket), headers=cast.agent.headers)
        await client.delete(url(ticket), headers=cast.agent.headers)  # already gone: nothing
        got = []
        while (
            m := await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
        ) is not None:
            got.append(json.loads(m["data"]))
        await pubsub.aclose()
        assert [(g["user_id"], g["state"]) for g in got] == [
            (str(cast.agent.id), "viewing"),
            (str(cast.agent.id), "replying"),
            (str(cast.agent.id), None),
        ]
        assert all(g["ticket_id"] == str(ticket) for g in got)
