"""Lone UTF-16 surrogates (``"\\udc00"`` in JSON text) are 422 on every transport, never a 500."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from helpline.models import TicketMetadata
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_ticket

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json"}
LONE = "\\udc00"  # as it appears in JSON text (the escape, not a character)


def assert_unicode_422(r, *loc: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == "/problems/validation-error"
    assert body["errors"][0]["type"] == "string_unicode"
    assert body["errors"][0]["loc"] == list(loc)


async def metadata_rows(session) -> int:
    return (await session.execute(select(func.count()).select_from(TicketMetadata))).scalar_one()


class TestRest:
    async def test_login_password(self, client):
        body = '{"email": "x@example.com", "password": "a' + LONE + '"}'
        r = await client.post("/api/v1/auth/login", content=body, headers=JSON)
        assert_unicode_422(r, "body", "password")

    async def test_ticket_title_also_as_raw_surrogate_bytes(self, client, cast: Cast):
        headers = {**cast.alice.headers, **JSON}
        r = await client.post(
            "/api/v1/tickets", content='{"title": "x' + LONE + '"}', headers=headers
        )
        assert_unicode_422(r, "body", "title")
        raw = b'{"title": "x\xed\xb0\x80"}'  # CESU-8 bytes: JSON decoding lets them through
        r = await client.post("/api/v1/tickets", content=raw, headers=headers)
        assert_unicode_422(r, "body", "title")

    async def test_metadata_value_and_object_key(self, client, cast: Cast, session):
        ticket_id = await make_ticket(session, cast.alice.id)
        await session.commit()
        before = await metadata_rows(session)
        url = f"/api/v1/tickets/{ticket_id}/metadata/plan"
        headers = {**cast.agent.headers, **JSON}
        r = await client.put(url, content='{"value": ["ok", "a' + LONE + '"]}', headers=headers)
        assert_unicode_422(r, "body", "value", "1")
        r = await client.put(url, content='{"value": {"k' + LONE + '": 1}}', headers=headers)
        assert_unicode_422(r, "body", "value", "k\\udc00")
        assert await metadata_rows(session) == before

    async def test_a_surrogate_pair_is_fine(self, client, cast: Cast, session):
        ticket_id = await make_ticket(session, cast.alice.id)
        await session.commit()
        url = f"/api/v1/tickets/{ticket_id}/metadata/mood"
        headers = {**cast.agent.headers, **JSON}
        r = await client.put(url, content='{"value": "\\ud83d\\ude00"}', headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["value"] == "\U0001f600"


SET = "mutation($input: SetTicketMetadataInput!) { setTicketMetadata(input: $input) { key } }"


class TestGraphQL:
    async def test_in_variables_is_the_same_422_problem(self, client, cast: Cast, session):
        ticket_id = await make_ticket(session, cast.alice.id)
        await session.commit()
        variables = {"input": {"ticketId": str(ticket_id), "key": "plan", "value": "PLACEHOLDER"}}
        text = json.dumps({"query": SET, "variables": variables}).replace("PLACEHOLDER", LONE)
        headers = {**cast.agent.headers, **JSON}
        r = await client.post("/graphql", content=text, headers=headers)
        assert_unicode_422(r, "body", "variables", "input", "value")
        assert await metadata_rows(session) == 0

    async def test_as_raw_text_in_the_document_is_the_same_422_problem(
        self, client, cast: Cast, session
    ):
        ticket_id = await make_ticket(session, cast.alice.id)
        await session.commit()
        query = SET.replace("$input: SetTicketMetadataInput!", "").replace(
            "$input", '{ticketId: "' + str(ticket_id) + '", key: "plan", value: "PLACEHOLDER"}'
        )
        text = json.dumps({"query": query}).replace("PLACEHOLDER", LONE)
        r = await client.post("/graphql", content=text, headers={**cast.agent.headers, **JSON})
        assert_unicode_422(r, "body", "query")
        assert await metadata_rows(session) == 0

    async def test_a_surrogate_escape_in_a_literal_is_a_document_error(
        self, client, cast: Cast, session
    ):
        ticket_id = await make_ticket(session, cast.alice.id)
        await session.commit()
        query = (
            'mutation { setTicketMetadata(input: {ticketId: "' + str(ticket_id) + '", key: "plan",'
            ' value: "a\\udc00"}) { key } }'
        )  # the GraphQL escape \udc00 inside the document
        r = await client.post(
            "/graphql", content=json.dumps({"query": query}), headers={**cast.agent.headers, **JSON}
        )
        assert r.status_code == 200, r.text
        [error] = r.json()["errors"]
        assert error["extensions"]["code"] == "bad-request"
        assert "Invalid Unicode escape" in error["message"]
        assert await metadata_rows(session) == 0


class TestGraphQLMasksServerFaults:
    async def test_development_without_debug_shows_no_exception_text(
        self, settings, db, redis, clock, cast: Cast, session, monkeypatch
    ):
        import httpx

        from helpline.app import create_app
        from helpline.config import Environment
        from helpline.metadata import service as metadata_service

        async def broken(*args, **kwargs):
            raise UnicodeEncodeError("utf-8", "x", 0, 1, "surrogates not allowed")

        monkeypatch.setattr(metadata_service, "set_metadata", broken)
        ticket_id = await make_ticket(session, cast.alice.id)
        await session.commit()
        dev = settings.model_copy(update={"env": Environment.development, "debug": False})
        application = create_app(dev, background=False, database=db, redis=redis, clock=clock)
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://h.test") as c:
                variables = {"input": {"ticketId": str(ticket_id), "key": "plan", "value": 1}}
                r = await c.post(
                    "/graphql",
                    json={"query": SET, "variables": variables},
                    headers=cast.agent.headers,
                )
        [error] = r.json()["errors"]
        assert error["extensions"]["code"] == "internal-error"
        assert "surrogates" not in error["message"]
