"""Conversations and metadata through the REST API."""

from __future__ import annotations

import pytest

from tests.fixtures.actors import Cast

pytestmark = pytest.mark.integration

API = "/api/v1/tickets"


async def new_ticket(client, cast: Cast) -> str:
    r = await client.post(API, json={"title": "T"}, headers=cast.alice.headers)
    return r.json()["id"]


class TestConversations:
    async def test_messages_round_trip_and_touch_ticket(self, client, cast: Cast):
        tid = await new_ticket(client, cast)
        r1 = await client.post(
            f"{API}/{tid}/conversations", json={"message": "It broke"}, headers=cast.alice.headers
        )
        r2 = await client.post(
            f"{API}/{tid}/conversations", json={"message": "On it"}, headers=cast.agent.headers
        )
        assert r1.status_code == r2.status_code == 201
        assert r1.json()["sender_type"] == "customer"
        assert r2.json()["sender_type"] == "agent"
        assert r2.json()["sender_id"] == str(cast.agent.id)
        assert r2.json()["attachments"] == []
        listing = await client.get(f"{API}/{tid}/conversations", headers=cast.alice.headers)
        assert [m["message"] for m in listing.json()["data"]] == ["It broke", "On it"]
        ticket = await client.get(f"{API}/{tid}", headers=cast.alice.headers)
        assert ticket.json()["version"] == 3

    async def test_internal_notes_hidden_from_customers(self, client, cast: Cast):
        tid = await new_ticket(client, cast)
        await client.post(
            f"{API}/{tid}/conversations", json={"message": "public"}, headers=cast.agent.headers
        )
        await client.post(
            f"{API}/{tid}/conversations",
            json={"message": "secret note", "is_internal": True},
            headers=cast.agent.headers,
        )
        customer_view = await client.get(f"{API}/{tid}/conversations", headers=cast.alice.headers)
        agent_view = await client.get(f"{API}/{tid}/conversations", headers=cast.agent.headers)
        assert [m["message"] for m in customer_view.json()["data"]] == ["public"]
        assert [m["message"] for m in agent_view.json()["data"]] == ["public", "secret note"]

    async def test_customer_cannot_write_internal_note(self, client, cast: Cast):
        tid = await new_ticket(client, cast)
        r = await client.post(
            f"{API}/{tid}/conversations",
            json={"message": "x", "is_internal": True},
            headers=cast.alice.headers,
        )
        assert r.status_code == 403
        listing = await client.get(f"{API}/{tid}/conversations", headers=cast.agent.headers)
        assert listing.json()["data"] == []

    async def test_pagination(self, client, cast: Cast):
        tid = await new_ticket(client, cast)
        for i in range(5):
            await client.post(
                f"{API}/{tid}/conversations", json={"message": f"m{i}"}, headers=cast.alice.headers
            )
        first = (
            await client.get(
                f"{API}/{tid}/conversations", params={"limit": 3}, headers=cast.alice.headers
            )
        ).json()
        second = (
            await client.get(
                f"{API}/{tid}/conversations",
                params={"limit": 3, "cursor": first["meta"]["next_cursor"]},
                headers=cast.alice.headers,
            )
        ).json()
        assert [m["message"] for m in first["data"] + second["data"]] == [f"m{i}" for i in range(5)]
        assert second["meta"] == {"next_cursor": None, "has_more": False}

    async def test_empty_message_rejected(self, client, cast: Cast):
        tid = await new_ticket(client, cast)
        r = await client.post(
            f"{API}/{tid}/conversations", json={"message": ""}, headers=cast.alice.headers
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "message"]


class TestMetadata:
    async def test_put_get_delete(self, client, cast: Cast):
        tid = await new_ticket(client, cast)
        value = {"plan": "pro", "seats": [1, 2, 3]}
        put = await client.put(
            f"{API}/{tid}/metadata/account.info", json={"value": value}, headers=cast.agent.headers
        )
        assert put.status_code == 200
        assert put.json() == {"key": "account.info", "value": value}
        got = await client.get(f"{API}/{tid}/metadata", headers=cast.alice.headers)
        assert got.json() == {"account.info": value}
        deleted = await client.delete(
            f"{API}/{tid}/metadata/account.info", headers=cast.agent.headers
        )
        assert deleted.status_code == 204
        assert (await client.get(f"{API}/{tid}/metadata", headers=cast.alice.headers)).json() == {}
        again = await client.delete(
            f"{API}/{tid}/metadata/account.info", headers=cast.agent.headers
        )
        assert again.status_code == 404
        assert again.json()["type"] == "/problems/metadata-key-not-found"

    async def test_same_value_does_not_bump_version(self, client, cast: Cast):
        tid = await new_ticket(client, cast)
        await client.put(f"{API}/{tid}/metadata/k", json={"value": 1}, headers=cast.agent.headers)
        await client.put(f"{API}/{tid}/metadata/k", json={"value": 1}, headers=cast.agent.headers)
        assert (await client.get(f"{API}/{tid}", headers=cast.agent.headers)).json()["version"] == 2

    async def test_limits(self, client, cast: Cast):
        tid = await new_ticket(client, cast)
        bad_key = await client.put(
            f"{API}/{tid}/metadata/Bad Key", json={"value": 1}, headers=cast.agent.headers
        )
        assert bad_key.status_code == 422
        too_big = await client.put(
            f"{API}/{tid}/metadata/k", json={"value": "x" * 5000}, headers=cast.agent.headers
        )
        assert too_big.status_code == 422
        assert too_big.json()["errors"][0]["loc"] == [
            "body",
            "value",
        ]
        null = await client.put(
            f"{API}/{tid}/metadata/k", json={"value": None}, headers=cast.agent.headers
        )
        assert null.status_code == 422
        for i in range(100):
            r = await client.put(
                f"{API}/{tid}/metadata/k{i}", json={"value": i}, headers=cast.agent.headers
            )
            assert r.status_code == 200
        over = await client.put(
            f"{API}/{tid}/metadata/k100", json={"value": 1}, headers=cast.agent.headers
        )
        assert over.status_code == 409
        assert over.json()["type"] == "/problems/metadata-limit-reached"
        replace = await client.put(
            f"{API}/{tid}/metadata/k5", json={"value": "new"}, headers=cast.agent.headers
        )
        assert replace.status_code == 200
        assert (
            len((await client.get(f"{API}/{tid}/metadata", headers=cast.agent.headers)).json())
            == 100
        )

    async def test_customers_cannot_change_metadata(self, client, cast: Cast):
        tid = await new_ticket(client, cast)
        r = await client.put(
            f"{API}/{tid}/metadata/k", json={"value": 1}, headers=cast.alice.headers
        )
        assert r.status_code == 403
        assert (await client.get(f"{API}/{tid}/metadata", headers=cast.alice.headers)).json() == {}
