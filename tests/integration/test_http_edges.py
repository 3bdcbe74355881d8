"""Hostile bodies meet the same limits on every transport: chunked bodies over the size limit are
413 like declared ones, and nesting is bounded before any JSON parser recurses (REST and GraphQL).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from helpline.models import Ticket
from tests.fixtures.actors import Cast

pytestmark = pytest.mark.integration


def _chunks(data: bytes, size: int = 65_536):
    async def gen():
        for i in range(0, len(data), size):
            yield data[i : i + size]

    return gen()


async def _tickets(session) -> int:
    return (await session.execute(select(func.count()).select_from(Ticket))).scalar_one()


class TestBodyLimits:
    @pytest.mark.parametrize("size", [1_500_000, 3_000_000])
    async def test_oversized_chunked_json_is_413_like_a_declared_one(
        self, client, session, cast: Cast, size
    ):
        before = await _tickets(session)
        body = json.dumps(
            {"title": "x", "customer_id": str(cast.alice.id), "description": "y" * size}
        ).encode()
        headers = {**cast.agent.headers, "Content-Type": "application/json"}
        chunked = await client.post("/api/v1/tickets", content=_chunks(body), headers=headers)
        declared = await client.post("/api/v1/tickets", content=body, headers=headers)
        for r in (chunked, declared):
            assert r.status_code == 413
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["type"] == "/problems/payload-too-large"
        assert await _tickets(session) == before

    async def test_a_small_chunked_body_still_works(self, client, cast: Cast):
        body = json.dumps({"title": "Chunked", "customer_id": str(cast.alice.id)}).encode()
        headers = {**cast.agent.headers, "Content-Type": "application/json"}
        r = await client.post("/api/v1/tickets", content=_chunks(body, 7), headers=headers)
        assert r.status_code == 201, r.text
        assert r.json()["title"] == "Chunked"


class TestNesting:
    DEEP = b'{"title": "x", "description": ' + b"[" * 3000 + b"]" * 3000 + b"}"

    async def test_deep_rest_body_is_a_clear_400(self, client, session, cast: Cast):
        before = await _tickets(session)
        r = await client.post(
            "/api/v1/tickets",
            content=self.DEEP,
            headers={**cast.agent.headers, "Content-Type": "application/json"},
        )
        assert r.status_code == 400
        assert r.json()["type"] == "/problems/json-too-deep"
        assert await _tickets(session) == before

    async def test_deep_graphql_body_is_a_clear_400(self, client, cast: Cast):
        body = (
            b'{"query": "query($v: JSON) { me { id } }", "variables": {"v": '
            + b"[" * 3000
            + b"]" * 3000
            + b"}}"
        )
        r = await client.post(
            "/graphql",
            content=body,
            headers={**cast.agent.headers, "Content-Type": "application/json"},
        )
        assert r.status_code == 400
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == "/problems/json-too-deep"

    async def test_brackets_inside_strings_do_not_count(self, client, cast: Cast):
        title = "[" * 100 + "{" * 100
        r = await client.post(
            "/api/v1/tickets",
            json={"title": title, "customer_id": str(cast.alice.id)},
            headers=cast.agent.headers,
        )
        assert r.status_code == 201, r.text
        assert r.json()["title"] == title


class TestMethodNotAllowed:
    async def test_allow_lists_every_method_the_path_serves(self, client, cast: Cast):
        ticket = "/api/v1/tickets/0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b10"
        for method, path, allowed in (
            ("PROPFIND", ticket, "DELETE, GET, PATCH"),
            ("FOOBAR", "/api/v1/tickets", "GET, POST"),
            ("PUT", "/health/live", "GET"),
        ):
            r = await client.request(method, path, headers=cast.agent.headers)
            assert r.status_code == 405, (method, path)
            assert r.headers["allow"] == allowed, (method, path)
            assert r.json()["type"] == "/problems/method-not-allowed"
