"""Rate limiting: headers on every response, 429s, isolation between keys, Redis fallback."""

from __future__ import annotations

import re

import pytest

from helpline.auth.ratelimit import RateLimiter
from helpline.models.enums import Role
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_api_key

pytestmark = pytest.mark.integration

POLICY_RE = re.compile(r'^"[a-z-]+";q=\d+;w=60$')
STATE_RE = re.compile(r'^"[a-z-]+";r=\d+;t=\d+$')


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_headers(response) -> None:
    assert POLICY_RE.match(response.headers["ratelimit-policy"]), response.headers
    assert STATE_RE.match(response.headers["ratelimit"]), response.headers


class TestHeaders:
    async def test_every_kind_of_response_carries_the_headers(self, client, cast: Cast):
        responses = [
            await client.get("/api/v1/tickets", headers=cast.alice.headers),
            await client.get("/api/v1/tickets"),
            await client.get("/api/v1/tickets", headers={"Authorization": "Bearer nope"}),
            await client.get("/api/v1/no/such/route", headers=cast.alice.headers),
            await client.get("/openapi.json"),
        ]
        for r in responses:
            assert_headers(r)

    async def test_key_policy_counts_down(self, client, session, cast: Cast):
        key = await make_api_key(session, cast.agent.id, Role.agent, rate_limit_per_minute=5)
        await session.commit()
        first = await client.get("/api/v1/auth/me", headers=bearer(key))
        second = await client.get("/api/v1/auth/me", headers=bearer(key))
        assert first.headers["ratelimit-policy"] == '"api-key";q=5;w=60'
        assert first.headers["ratelimit"].startswith('"api-key";r=4;')
        assert second.headers["ratelimit"].startswith('"api-key";r=3;')

    async def test_scripts_reload_after_a_script_flush(self, client, session, redis, cast: Cast):
        key = await make_api_key(session, cast.agent.id, Role.agent, rate_limit_per_minute=5)
        await session.commit()
        first = await client.get("/api/v1/auth/me", headers=bearer(key))
        await redis.script_flush()  # as after a Redis restart: the SHAs are unknown again
        second = await client.get("/api/v1/auth/me", headers=bearer(key))
        assert first.status_code == second.status_code == 200
        assert second.headers["ratelimit"].startswith('"api-key";r=3;')


class TestLimits:
    async def test_exhausted_key_gets_429_and_other_keys_are_untouched(
        self, client, session, cast: Cast
    ):
        a = await make_api_key(session, cast.agent.id, Role.agent, rate_limit_per_minute=3)
        b = await make_api_key(session, cast.agent.id, Role.agent, rate_limit_per_minute=3)
        await session.commit()
        statuses = [
            (await client.get("/api/v1/auth/me", headers=bearer(a))).status_code for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        r = await client.get("/api/v1/auth/me", headers=bearer(a))
        assert r.status_code == 429
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == "/problems/rate-limited"
        assert int(r.headers["retry-after"]) >= 1
        assert r.headers["ratelimit"].startswith('"api-key";r=0;')
        assert (await client.get("/api/v1/auth/me", headers=bearer(b))).status_code == 200

    async def test_anonymous_callers_are_limited_per_ip(self, app, client, settings):
        app.state.services.settings = settings.model_copy(
            update={"anonymous_rate_limit_per_minute": 2}
        )
        statuses = [(await client.get("/openapi.json")).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        r = await client.get("/health/live")
        assert r.status_code == 200  # probes are never refused
        assert "ratelimit" not in r.headers  # … and never counted

    async def test_probes_never_spend_the_allowance(self, app, client, settings, cast: Cast):
        app.state.services.settings = settings.model_copy(
            update={"anonymous_rate_limit_per_minute": 2}
        )
        for headers in ({}, cast.alice.headers, {"Authorization": "Bearer nope"}):
            for _ in range(5):
                r = await client.get("/health/live", headers=headers)
                assert r.status_code == 200
                assert r.json()["status"] == "ok"
        r = await client.get("/openapi.json")
        assert r.status_code == 200
        assert r.headers["ratelimit"].startswith('"anonymous";r=1;')

    async def test_the_web_interfaces_files_never_spend_the_allowance(self, app, client, settings):
        app.state.services.settings = settings.model_copy(
            update={"anonymous_rate_limit_per_minute": 2}
        )
        for path in ("/", "/assets/index-abc123.js", "/tickets/some-client-route", "/favicon.ico"):
            r = await client.get(path)
            assert r.status_code in (200, 404), (path, r.status_code)
            assert "ratelimit" not in r.headers, path
        r = await client.get("/openapi.json")  # the API's allowance is untouched
        assert r.headers["ratelimit"].startswith('"anonymous";r=1;')

    async def test_a_keys_client_errors_count_against_the_key_not_the_ip(
        self, app, client, session, settings, cast: Cast
    ):
        app.state.services.settings = settings.model_copy(
            update={"anonymous_rate_limit_per_minute": 2}
        )
        key = await make_api_key(session, cast.agent.id, Role.agent, rate_limit_per_minute=50)
        await session.commit()
        assert (await client.get("/api/v1/auth/me", headers=bearer(key))).status_code == 200
        for _ in range(4):  # a route that does not exist and a body that is not JSON
            r = await client.get("/api/v1/nope", headers=bearer(key))
            assert r.status_code == 404
            assert r.headers["ratelimit-policy"] == '"api-key";q=50;w=60'
            r = await client.post(
                "/api/v1/tickets",
                content=b"{",
                headers={**bearer(key), "Content-Type": "application/json"},
            )
            assert r.status_code == 400
            assert r.json()["type"] == "/problems/bad-request"
        r = await client.get("/openapi.json")  # the IP's allowance is untouched
        assert r.headers["ratelimit"].startswith('"anonymous";r=1;')

    async def test_429_carries_the_refusing_policys_headers(self, app, client, settings):
        app.state.services.settings = settings.model_copy(
            update={"anonymous_rate_limit_per_minute": 100, "login_rate_limit_per_ip_per_minute": 1}
        )
        body = {"email": "nobody@example.com", "password": "wrong-password-1"}
        first = await client.post("/api/v1/auth/login", json=body)
        assert first.status_code == 401
        r = await client.post("/api/v1/auth/login", json=body)
        assert r.status_code == 429
        assert r.headers["ratelimit-policy"] == '"login-ip";q=1;w=60'
        assert r.headers["ratelimit"].startswith('"login-ip";r=0;')

    async def test_default_limit_applies_without_a_key_limit(self, client, cast: Cast, settings):
        r = await client.get("/api/v1/auth/me", headers=cast.alice.headers)
        assert f"q={settings.default_rate_limit_per_minute};" in r.headers["ratelimit-policy"]


class _BrokenPool:
    """A connection pool whose every connection attempt fails, like an unreachable Redis."""

    def __init__(self) -> None:
        import redis.asyncio as aioredis

        self.pool = aioredis.ConnectionPool.from_url(
            "redis://127.0.0.1:1/0", socket_connect_timeout=0.05, socket_timeout=0.05
        )


class TestFallback:
    async def test_redis_down_falls_back_without_5xx(self, app, client, settings, cast: Cast):
        limiter = RateLimiter.for_app(settings, _BrokenPool().pool)
        app.state.services.rate_limiter = limiter
        r = await client.get("/api/v1/tickets", headers=cast.alice.headers)
        assert r.status_code == 200
        assert_headers(r)
        assert limiter.fallback_count >= 1
        r = await client.get("/openapi.json")
        assert r.status_code == 200
        assert limiter.fallback_count >= 2


class TestClientAddress:
    async def test_forwarded_for_is_ignored_unless_the_peer_is_trusted(self, app, client, settings):
        app.state.services.settings = settings.model_copy(
            update={"anonymous_rate_limit_per_minute": 2}
        )
        statuses = [
            (
                await client.get("/openapi.json", headers={"X-Forwarded-For": f"198.51.100.{i}"})
            ).status_code
            for i in range(3)
        ]
        assert statuses == [200, 200, 429]  # one bucket: the socket's peer

    async def test_a_trusted_proxy_names_the_client(self, settings, db, redis, clock):
        import httpx

        from helpline.app import create_app

        proxied = settings.model_copy(
            update={"anonymous_rate_limit_per_minute": 2, "trusted_proxies": ["127.0.0.1"]}
        )
        application = create_app(proxied, background=False, database=db, redis=redis, clock=clock)
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 5000))
        async with (
            application.router.lifespan_context(application),
            httpx.AsyncClient(transport=transport, base_url="http://helpline.test") as c,
        ):
            for client_ip in ("198.51.100.1", "198.51.100.2"):
                statuses = [
                    (
                        await c.get("/openapi.json", headers={"X-Forwarded-For": client_ip})
                    ).status_code
                    for _ in range(3)
                ]
                assert statuses == [200, 200, 429], client_ip  # a bucket per real client
