"""A network partition between one API process and Redis (issue 21, item 3).

Two real `helpline serve` processes on one database and one Redis key prefix; B reaches Redis
through a TCP proxy the test cuts. What B changes while cut off must reach A's readers through
the durable outbox (PostgreSQL) within a second of its delivery: a new title, a deletion, and a
revoked API key.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from scripts.lib.live_server import LiveServer, live_server, server_env
from scripts.lib.services import create_database, drop_database, redis_url
from tests.fixtures.redis_server import redis_server
from tests.fixtures.tcp_proxy import TcpProxy, tcp_proxy

pytestmark = pytest.mark.integration

API = "/api/v1/tickets"
DELIVERY_DEADLINE_S = 5.0
OUTBOX_INTERVAL_S = 1.0  # the default cache_outbox_interval_s, which A runs with
FRESH_AFTER_DELIVERY_S = 1.0


@dataclass(frozen=True)
class Partition:
    a: LiveServer  # reaches Redis directly
    b: LiveServer  # reaches Redis through the proxy
    proxy: TcpProxy
    database_url: str


@pytest.fixture(scope="module")
def partition(pg_server: str, services, run_id: str, tmp_path_factory) -> Iterator[Partition]:
    url = create_database(pg_server)
    redis = redis_url(services)
    assert redis, "the partition test needs a real Redis"
    target = make_url(redis.replace("redis://", "postgresql://", 1))
    logs = tmp_path_factory.mktemp("partition")
    prefix = f"helpline-test-{run_id}-partition"
    try:
        with (
            tcp_proxy(target.host or "127.0.0.1", target.port or 6379) as proxy,
            redis_server(logs) as elsewhere,
        ):
            proxied = f"redis://127.0.0.1:{proxy.port}/{target.database or 0}"
            env_a = server_env(url, redis, prefix, HELPLINE_ACCESS_LOG="false")
            env_b = server_env(url, proxied, prefix, HELPLINE_ACCESS_LOG="false")
            # Another deployment on the same database with its own Redis (another region, the
            # probe's outage Redis): it looks at the outbox twenty times as often as A.
            env_c = server_env(
                url,
                elsewhere.url,
                prefix,
                HELPLINE_ACCESS_LOG="false",
                HELPLINE_CACHE_OUTBOX_INTERVAL_S="0.05",
            )
            with (
                live_server(env_a, logs / "a.log") as a,
                live_server(env_b, logs / "b.log") as b,
                live_server(env_c, logs / "c.log"),
            ):
                yield Partition(a, b, proxy, url)
    finally:
        drop_database(pg_server, url)


@pytest.fixture
def healed(partition: Partition) -> Iterator[Partition]:
    partition.proxy.restore()
    yield partition
    partition.proxy.restore()


def make_key(server: LiveServer, role: str) -> dict[str, str]:
    out = server.cli(
        "users", "create", "--role", role, "--email", f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    )
    return {"Authorization": f"Bearer {out.strip().splitlines()[-1]}"}


def outbox_rows(database_url: str, kind: str) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            sql = "SELECT count(*) FROM cache_invalidations WHERE kind = $1"
            return int(await conn.fetchval(sql, kind))
        finally:
            await conn.close()

    return asyncio.run(count())


def wait_until(check: Callable[[], bool], deadline_s: float) -> float | None:
    """Poll ``check`` until it holds; the seconds it took, or None past the deadline."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if check():
            return time.monotonic() - start
        time.sleep(0.02)  # polling other processes, not waiting for time
    return None


def fresh_within_a_second_of_delivery(
    partition: Partition, kind: str, before: int, fresh: Callable[[], bool]
) -> None:
    """B recorded what it could not send to Redis; A delivers it within its outbox interval
    (1 s) and serves fresh within a second of that, while B is still cut off."""
    assert outbox_rows(partition.database_url, kind) == before + 1, "B should have recorded it"
    took = wait_until(fresh, DELIVERY_DEADLINE_S)
    assert took is not None, "A still serves what B changed"
    assert took <= OUTBOX_INTERVAL_S + FRESH_AFTER_DELIVERY_S, took


class TestPartitionedProcess:
    def test_a_title_changed_behind_a_partition_is_fresh_everywhere(self, healed: Partition):
        a, b, proxy = healed.a, healed.b, healed.proxy
        h = make_key(a, "agent")
        customer = make_key(a, "customer")
        cid = httpx.get(f"{a.base_url}/api/v1/auth/me", headers=customer).json()["id"]
        ticket = httpx.post(
            f"{a.base_url}{API}", json={"title": "before", "customer_id": cid}, headers=h
        ).json()
        url = f"{API}/{ticket['id']}"
        for server in (a, b, a):  # cached in Redis, principals cached in both processes
            assert httpx.get(server.base_url + url, headers=h).json()["title"] == "before"
        before = outbox_rows(healed.database_url, "ticket")
        proxy.cut()
        r = httpx.patch(b.base_url + url, json={"title": "after"}, headers=h, timeout=10)
        assert r.status_code == 200, r.text
        assert r.json()["title"] == "after"

        def a_is_fresh() -> bool:
            body = httpx.get(a.base_url + url, headers=h).json()
            return bool(body["title"] == "after" and body["version"] == 2)

        fresh_within_a_second_of_delivery(healed, "ticket", before, a_is_fresh)
        listed = httpx.get(f"{a.base_url}{API}", headers=h).json()["data"]
        assert [t["title"] for t in listed if t["id"] == ticket["id"]] == ["after"]

    def test_a_ticket_deleted_behind_a_partition_is_gone_everywhere(self, healed: Partition):
        a, b, proxy = healed.a, healed.b, healed.proxy
        h = make_key(a, "admin")
        customer = make_key(a, "customer")
        cid = httpx.get(f"{a.base_url}/api/v1/auth/me", headers=customer).json()["id"]
        ticket = httpx.post(
            f"{a.base_url}{API}", json={"title": "doomed", "customer_id": cid}, headers=h
        ).json()
        url = f"{API}/{ticket['id']}"
        for server in (a, b, a):
            assert httpx.get(server.base_url + url, headers=h).status_code == 200
        before = outbox_rows(healed.database_url, "ticket")
        proxy.cut()
        r = httpx.delete(b.base_url + url, headers=h, timeout=10)
        assert r.status_code == 204, r.text

        def a_says_gone() -> bool:
            r = httpx.get(a.base_url + url, headers=h)
            return r.status_code == 404 and r.json()["type"] == "/problems/ticket-not-found"

        fresh_within_a_second_of_delivery(healed, "ticket", before, a_says_gone)

    def test_a_key_revoked_behind_a_partition_is_refused_everywhere(self, healed: Partition):
        a, b, proxy = healed.a, healed.b, healed.proxy
        owner = make_key(a, "agent")
        created = httpx.post(
            f"{a.base_url}/api/v1/api-keys", json={"name": "doomed"}, headers=owner
        )
        assert created.status_code == 201, created.text
        doomed = {"Authorization": f"Bearer {created.json()['key']}"}
        for server in (a, b, a):  # the principal is cached in both processes
            assert httpx.get(f"{server.base_url}{API}", headers=doomed).status_code == 200
        before = outbox_rows(healed.database_url, "principals")
        proxy.cut()
        r = httpx.delete(
            f"{b.base_url}/api/v1/api-keys/{created.json()['id']}", headers=owner, timeout=10
        )
        assert r.status_code == 204, r.text
        assert httpx.get(f"{b.base_url}{API}", headers=doomed).status_code == 401

        def a_refuses() -> bool:
            r = httpx.get(f"{a.base_url}{API}", headers=doomed)
            return r.status_code == 401 and r.json()["type"].startswith("/problems/")

        fresh_within_a_second_of_delivery(healed, "principals", before, a_refuses)

    def test_a_key_revoked_from_a_cut_off_command_line_is_refused_everywhere(
        self, healed: Partition
    ):
        a, b, proxy = healed.a, healed.b, healed.proxy
        owner = make_key(a, "agent")
        created = httpx.post(
            f"{a.base_url}/api/v1/api-keys", json={"name": "doomed"}, headers=owner
        )
        assert created.status_code == 201, created.text
        doomed = {"Authorization": f"Bearer {created.json()['key']}"}
        for _ in range(2):
            assert httpx.get(f"{a.base_url}{API}", headers=doomed).status_code == 200
        before = outbox_rows(healed.database_url, "principals")
        proxy.cut()
        b.cli("keys", "revoke", created.json()["id"])  # B's settings: Redis through the proxy

        def a_refuses() -> bool:
            return httpx.get(f"{a.base_url}{API}", headers=doomed).status_code == 401

        fresh_within_a_second_of_delivery(healed, "principals", before, a_refuses)
