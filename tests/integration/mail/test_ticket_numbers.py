"""Ticket numbers and message channels: REST and GraphQL representations, search, the backfill."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from helpline.cli.db import alembic_config
from tests.fixtures.actors import Cast

pytestmark = pytest.mark.integration

API = "/api/v1/tickets"


async def create(client, actor, **body):
    response = await client.post(API, json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    return response.json()


class TestTicketNumbers:
    async def test_numbers_are_sequential_and_in_every_representation(self, client, cast: Cast):
        first = await create(client, cast.alice, title="First")
        second = await create(client, cast.alice, title="Second")
        assert second["number"] == first["number"] + 1
        got = await client.get(f"{API}/{first['id']}", headers=cast.alice.headers)
        assert got.json()["number"] == first["number"]
        gql = await client.post(
            "/graphql",
            json={"query": f'{{ ticket(id: "{second["id"]}") {{ number title }} }}'},
            headers=cast.alice.headers,
        )
        assert gql.json()["data"]["ticket"] == {"number": second["number"], "title": "Second"}

    @pytest.mark.parametrize("form", ["#{n}", "{n}"])
    async def test_q_finds_a_ticket_by_number(self, client, cast: Cast, form: str):
        wanted = await create(client, cast.alice, title="Router blinks")
        await create(client, cast.alice, title="Other")
        q = form.format(n=wanted["number"])
        r = await client.get(API, params={"q": q}, headers=cast.agent.headers)
        assert r.status_code == 200
        assert [t["id"] for t in r.json()["data"]] == [wanted["id"]]

    async def test_number_filter_respects_visibility(self, client, cast: Cast):
        mine = await create(client, cast.alice, title="Mine")
        r = await client.get(API, params={"number": mine["number"]}, headers=cast.alice.headers)
        assert [t["id"] for t in r.json()["data"]] == [mine["id"]]
        r = await client.get(API, params={"number": mine["number"]}, headers=cast.bob.headers)
        assert r.json()["data"] == []
        gql = await client.post(
            "/graphql",
            json={
                "query": "query($n: Int) { tickets(filter: {number: $n}) { nodes { id } } }",
                "variables": {"n": mine["number"]},
            },
            headers=cast.agent.headers,
        )
        assert gql.json()["data"]["tickets"]["nodes"] == [{"id": mine["id"]}]


class TestMessageChannel:
    async def test_api_key_messages_are_api_and_sessions_web(self, client, cast: Cast, session):
        ticket = await create(client, cast.alice, title="Channels")
        r = await client.post(
            f"{API}/{ticket['id']}/conversations",
            json={"message": "hi"},
            headers=cast.alice.headers,
        )
        assert r.status_code == 201
        assert r.json()["channel"] == "api"
        assert r.json()["delivery"] is None
        listed = await client.get(f"{API}/{ticket['id']}/conversations", headers=cast.alice.headers)
        assert [m["channel"] for m in listed.json()["data"]] == ["api"]
        event = (
            await session.execute(
                text("SELECT data FROM events WHERE type = 'message.created' AND ticket_id = :t"),
                {"t": ticket["id"]},
            )
        ).scalar_one()
        assert event["channel"] == "api"


@pytest.mark.migrations
def test_backfill_numbers_existing_tickets_in_creation_order(make_database):
    import asyncio

    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_database(migrate=False)
    config = alembic_config(url)
    command.upgrade(config, "0006")
    sa_url = make_url(url)

    async def sql(query: str):
        conn = await asyncpg.connect(
            user=sa_url.username, host=sa_url.host, port=sa_url.port, database=sa_url.database
        )
        try:
            if ";" in query:
                return await conn.execute(query)
            return await conn.fetch(query)
        finally:
            await conn.close()

    asyncio.run(
        sql(
            "INSERT INTO users (id, email, name, role) VALUES"
            " ('00000000-0000-7000-8000-000000000001', 'c@example.com', 'C', 'customer');"
            "INSERT INTO tickets (id, title, customer_id, created_at) VALUES"
            " ('00000000-0000-7000-8000-00000000000b', 'later',"
            "  '00000000-0000-7000-8000-000000000001', now()),"
            " ('00000000-0000-7000-8000-00000000000a', 'earlier',"
            "  '00000000-0000-7000-8000-000000000001', now() - interval '1 day')"
        )
    )
    command.upgrade(config, "head")
    rows = asyncio.run(sql("SELECT title, number, version FROM tickets ORDER BY number"))
    assert [(r["title"], r["number"], r["version"]) for r in rows] == [
        ("earlier", 1, 1),
        ("later", 2, 1),
    ]
    audit = asyncio.run(sql("SELECT count(*) AS n FROM audit_log WHERE action = 'ticket.updated'"))
    assert audit[0]["n"] == 0  # numbering is not a change anyone made
    new = asyncio.run(
        sql(
            "INSERT INTO tickets (id, title, customer_id) VALUES"
            " ('00000000-0000-7000-8000-00000000000c', 'new',"
            "  '00000000-0000-7000-8000-000000000001') RETURNING number"
        )
    )
    assert new[0]["number"] == 3
