"""Core scenarios on the scale-out stack: two `helpline serve` processes behind a round-robin
proxy, PostgreSQL through PgBouncer (transaction pooling) with a streaming replica configured,
Redis as one server, a Sentinel-managed master or a 3-master cluster.

Every Redis topology runs every scenario. HELPLINE_DATABASE_REPLICA_URLS is set, so ticket reads
that miss the cache go through the read router (read-your-writes for the writer).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from scripts.lib import services as test_services
from scripts.lib.live_server import LiveServer, live_server, server_env
from scripts.lib.scaleout import (
    PgBouncer,
    PostgresCluster,
    RedisCluster,
    RedisSentinel,
    RoundRobinProxy,
    replayed,
)

API = "/api/v1/tickets"
KEY_LIMIT = 10


@dataclass
class Stack:
    proxy: RoundRobinProxy
    servers: tuple[LiveServer, LiveServer]
    admin: dict[str, str]
    agent: dict[str, str]
    customer: dict[str, str]

    @property
    def base_url(self) -> str:
        return self.proxy.base_url

    def client(self) -> httpx.Client:
        """One connection per request, so that the proxy alternates between the processes."""
        return httpx.Client(
            base_url=self.base_url, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
        )

    def async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
        )


def bearer(server: LiveServer, role: str) -> dict[str, str]:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    out = server.cli("users", "create", "--role", role, "--email", email)
    return {"Authorization": f"Bearer {out.strip().splitlines()[-1]}"}


@pytest.fixture(scope="module", params=["single", "sentinel", "cluster"])
def stack(
    request: pytest.FixtureRequest,
    pgbouncer: PgBouncer,
    pg_primary: PostgresCluster,
    pg_replica: PostgresCluster,
    scaleout_database: str,
    redis_cluster: RedisCluster,
    redis_sentinel: RedisSentinel,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    urls = {"cluster": redis_cluster.url, "sentinel": redis_sentinel.url}
    redis = urls.get(request.param) or test_services.redis_url(test_services.LocalServices())
    assert redis
    env = server_env(
        pgbouncer.url_for(scaleout_database),
        redis,
        f"helpline-scaleout-{uuid.uuid4().hex[:8]}",
        HELPLINE_DATABASE_PGBOUNCER="true",
        HELPLINE_DATABASE_OWNER_URL=pg_primary.url_for(scaleout_database),
        HELPLINE_DATABASE_REPLICA_URLS=pg_replica.url_for(scaleout_database),
        HELPLINE_ACCESS_LOG="false",
    )
    logs: Path = tmp_path_factory.mktemp(f"scaleout-{request.param}")
    with live_server(env, logs / "a.log") as a, live_server(env, logs / "b.log") as b:
        proxy = RoundRobinProxy([("127.0.0.1", int(s.base_url.rsplit(":", 1)[1])) for s in (a, b)])
        proxy.start()
        try:
            yield Stack(
                proxy, (a, b), bearer(a, "admin"), bearer(a, "agent"), bearer(b, "customer")
            )
        finally:
            proxy.stop()


class TestTickets:
    def test_crud_through_both_processes(self, stack: Stack):
        served_before = list(stack.proxy.served)
        with stack.client() as http:
            created = http.post(API, json={"title": "printer on fire"}, headers=stack.customer)
            assert created.status_code == 201, created.text
            ticket = created.json()
            url = f"{API}/{ticket['id']}"
            for _ in range(4):  # both processes read it (and fill their cache)
                seen = http.get(url, headers=stack.customer)
                assert seen.status_code == 200
                assert (seen.json()["title"], seen.json()["version"]) == ("printer on fire", 1)
            patched = http.patch(
                url, json={"title": "printer out"}, headers={**stack.agent, "If-Match": '"1"'}
            )
            assert patched.status_code == 200, patched.text
            # Cache invalidation reached both processes: no read sees version 1 again.
            for _ in range(4):
                assert http.get(url, headers=stack.customer).json()["version"] == 2
            listed = http.get(API, headers=stack.customer).json()["data"]
            assert [t["title"] for t in listed if t["id"] == ticket["id"]] == ["printer out"]
            assert http.delete(url, headers=stack.admin).status_code == 204
            for _ in range(2):
                gone = http.get(url, headers=stack.customer)
                assert gone.status_code == 404
                assert gone.headers["content-type"].startswith("application/problem+json")
        served = [
            now - before for now, before in zip(stack.proxy.served, served_before, strict=True)
        ]
        assert all(count >= 5 for count in served), served

    def test_exactly_one_if_match_winner(self, stack: Stack):
        with stack.client() as http:
            ticket = http.post(API, json={"title": "race"}, headers=stack.customer).json()

        async def patch(n: int) -> httpx.Response:
            async with stack.async_client() as client:
                return await client.patch(
                    f"{API}/{ticket['id']}",
                    json={"title": f"writer {n}"},
                    headers={**stack.agent, "If-Match": '"1"'},
                )

        async def race() -> list[httpx.Response]:
            return list(await asyncio.gather(*(patch(n) for n in range(12))))

        results = asyncio.run(race())
        assert sorted(r.status_code for r in results) == [200] + [412] * 11
        winner = next(r for r in results if r.status_code == 200).json()
        with stack.client() as http:
            for _ in range(2):
                final = http.get(f"{API}/{ticket['id']}", headers=stack.agent).json()
                assert (final["version"], final["title"]) == (2, winner["title"])

    def test_one_ticket_per_idempotency_key(self, stack: Stack):
        key = f"scaleout-{uuid.uuid4().hex[:8]}"
        headers = {**stack.customer, "Idempotency-Key": key}
        title = f"once {key}"

        async def post() -> httpx.Response:
            async with stack.async_client() as client:
                return await client.post(API, json={"title": title}, headers=headers)

        async def storm() -> list[httpx.Response]:
            return list(await asyncio.gather(*(post() for _ in range(24))))

        results = asyncio.run(storm())
        assert {r.status_code for r in results} <= {201, 409}
        assert len({r.json()["id"] for r in results if r.status_code == 201}) == 1
        with stack.client() as http:
            listed = http.get(f"{API}?limit=100", headers=stack.customer).json()["data"]
            assert sum(t["title"] == title for t in listed) == 1
            replay = http.post(API, json={"title": title}, headers=headers)
            assert replay.status_code == 201
            assert replay.json()["id"] in {r.json()["id"] for r in results if r.status_code == 201}


class TestSharedState:
    def test_a_key_limit_is_shared_by_both_processes(self, stack: Stack):
        email = f"limited-{uuid.uuid4().hex[:8]}@example.com"
        server = stack.servers[0]
        server.cli("users", "create", "--role", "customer", "--email", email)
        out = server.cli("keys", "create", "--email", email, "--rate-limit", str(KEY_LIMIT))
        headers = {"Authorization": f"Bearer {out.strip().splitlines()[-1]}"}
        with stack.client() as http:
            responses = [http.get(API, headers=headers) for _ in range(KEY_LIMIT + 4)]
        # Each process alone would allow the whole limit; together they allow it once.
        assert [r.status_code for r in responses] == [200] * KEY_LIMIT + [429] * 4
        assert responses[-1].headers["content-type"].startswith("application/problem+json")
        remaining = [r.headers["ratelimit"] for r in responses[:3]]
        for n, header in enumerate(remaining, start=1):  # one window, counted across processes
            assert f";r={KEY_LIMIT - n};" in header, remaining

    def test_a_session_made_by_one_process_works_on_the_other(self, stack: Stack):
        email = f"web-{uuid.uuid4().hex[:8]}@example.com"
        password = "correct horse battery staple"
        with stack.client() as http:
            made = http.post(
                "/api/v1/users",
                json={"email": email, "name": "Web", "role": "agent", "password": password},
                headers=stack.admin,
            )
            assert made.status_code == 201, made.text
            login = http.post("/api/v1/auth/login", json={"email": email, "password": password})
            assert login.status_code == 200, login.text
            cookies = httpx.Cookies(login.cookies)
        with stack.client() as http:
            http.cookies = cookies
            for _ in range(4):  # alternate processes
                me = http.get("/api/v1/auth/me")
                assert me.status_code == 200
                assert me.json()["email"] == email
            csrf = login.json()["csrf_token"]
            out = http.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
            assert out.status_code == 204
        with stack.client() as http:
            http.cookies = cookies  # the old cookie, replayed: the session ended on the server
            for _ in range(2):
                assert http.get("/api/v1/auth/me").status_code == 401


class TestReplicaConfigured:
    def test_writes_reach_the_replica(
        self, stack: Stack, pg_primary: PostgresCluster, pg_replica: PostgresCluster,
        scaleout_database: str,
    ):  # fmt: skip
        import asyncpg

        with stack.client() as http:
            ticket = http.post(API, json={"title": "replicated"}, headers=stack.customer).json()

        async def on_replica() -> str | None:
            await replayed(pg_replica.url, pg_primary.url)
            conn = await asyncpg.connect(pg_replica.url_for(scaleout_database))
            try:
                return await conn.fetchval(
                    "SELECT title FROM tickets WHERE id = $1", uuid.UUID(ticket["id"])
                )
            finally:
                await conn.close()

        assert asyncio.run(on_replica()) == "replicated"
