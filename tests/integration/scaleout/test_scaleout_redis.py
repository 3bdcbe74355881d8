"""HELPLINE_REDIS_URL on one server, a Sentinel-managed master and a 3-master Redis Cluster:
the same client code (runtime.make_redis), rate limits, sessions and cache generation counters.

On a cluster the rate limiter sends its scripts one call per node (kit/roundtrip), and the
session and cache namespaces each live under one hash tag, so their scripts and MULTIs stay
within a slot.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisClusterStorage, RedisSentinelStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

from helpline.auth.ratelimit import RateLimiter
from helpline.auth.sessions import SessionStore
from helpline.config import Environment, Settings
from helpline.db import UnitOfWork
from helpline.kit.cache import CacheBackend
from helpline.kit.redis_client import is_cluster, parse_redis_url
from helpline.runtime import make_redis
from helpline.ticket.cache import STAFF_VIEW, TicketCache, TicketPage
from scripts.lib import services as test_services
from scripts.lib.scaleout import RedisCluster, RedisSentinel

TOPOLOGIES = ("single", "sentinel", "cluster")


@pytest.fixture(params=TOPOLOGIES)
def topology_url(
    request: pytest.FixtureRequest, redis_cluster: RedisCluster, redis_sentinel: RedisSentinel
) -> str:
    if request.param == "single":
        url = test_services.redis_url(test_services.LocalServices())
        assert url, "the scale-out tests need the machine's Redis at 127.0.0.1:6379"
        return url
    return redis_sentinel.url if request.param == "sentinel" else redis_cluster.url


@pytest.fixture
async def client(topology_url: str, redis_prefix: str) -> AsyncIterator[Any]:
    settings = Settings(env=Environment.test, redis_url=topology_url, redis_key_prefix=redis_prefix)
    redis = make_redis(settings)
    yield redis
    keys = [k async for k in redis.scan_iter(match=f"{redis_prefix}:*")]
    for key in keys:  # one by one: keys of a cluster live in different slots
        await redis.delete(key)
    await redis.aclose()


class TestClient:
    async def test_make_redis_speaks_to_every_topology(
        self, client: Any, topology_url: str, redis_prefix: str
    ):
        kind = parse_redis_url(topology_url).kind
        assert is_cluster(client) == (kind == "cluster")
        keys = [f"{redis_prefix}:k{n}" for n in range(30)]
        for n, key in enumerate(keys):
            await client.set(key, n, ex=60)
        assert [int(await client.get(k)) for k in keys] == list(range(30))
        found = {k.decode() async for k in client.scan_iter(match=f"{redis_prefix}:*")}
        assert found == set(keys)

    async def test_cluster_keys_spread_over_every_master(
        self, redis_cluster: RedisCluster, redis_prefix: str
    ):
        settings = Settings(env=Environment.test, redis_url=redis_cluster.url)
        redis = make_redis(settings)
        try:
            assert isinstance(redis, AsyncRedisCluster)
            for n in range(30):
                await redis.set(f"{redis_prefix}:spread:{n}", n, ex=60)
            per_node = [int(node.cli("dbsize")) for node in redis_cluster.nodes]
            assert sum(per_node) >= 30
            assert all(count > 0 for count in per_node), per_node
        finally:
            for n in range(30):
                await redis.delete(f"{redis_prefix}:spread:{n}")
            await redis.aclose()


def limits_storage(url: str, prefix: str) -> Any:
    kind = parse_redis_url(url).kind
    storage = {"cluster": RedisClusterStorage, "sentinel": RedisSentinelStorage}.get(
        kind, RedisStorage
    )
    return storage(url, implementation="redispy", key_prefix=f"{prefix}:limits")


class TestRateLimits:
    async def test_limits_storage_is_exact_on_every_topology(
        self, topology_url: str, redis_prefix: str, client: Any
    ):
        """The `limits` library's own storage for the URL's scheme (what for_app should build)."""
        limiter = MovingWindowRateLimiter(limits_storage(topology_url, redis_prefix))
        item = RateLimitItemPerMinute(5)
        results = [await limiter.hit(item, "api", "key-1") for _ in range(8)]
        assert results == [True] * 5 + [False] * 3
        assert await limiter.hit(item, "api", "key-2")  # another identity has its own window

    async def test_project_rate_limiter_is_exact_without_fallback(
        self, request: pytest.FixtureRequest, topology_url: str, redis_prefix: str, client: Any
    ):
        storage = limits_storage(topology_url, redis_prefix)
        warm = MovingWindowRateLimiter(storage)  # both of limits' scripts known to the server
        await warm.get_window_stats(RateLimitItemPerMinute(1), "warm", "up")
        await warm.hit(RateLimitItemPerMinute(1), "warm", "up")
        limiter = RateLimiter(storage)
        results = [await limiter.hit("api", "key-1", 4) for _ in range(6)]
        assert [r.allowed for r in results] == [True] * 4 + [False] * 2
        assert [r.remaining for r in results[:4]] == [3, 2, 1, 0]
        assert limiter.fallback_count == 0

    async def test_a_missing_read_script_does_not_count_the_hit_twice(
        self, redis_sentinel: RedisSentinel, redis_prefix: str
    ):
        """After a Redis restart or SCRIPT FLUSH, when only limits' acquire script has been
        loaded again, the pipeline's acquire succeeds and the read fails with NOSCRIPT; the
        retry then re-runs the acquire: one request is counted twice. (On the private
        Sentinel-managed server, so flushing scripts disturbs no one.)"""
        storage = limits_storage(redis_sentinel.url, redis_prefix)
        redis_sentinel.master.cli("script", "flush")
        await MovingWindowRateLimiter(storage).hit(RateLimitItemPerMinute(1), "warm", "up")
        limiter = RateLimiter(storage)
        first = await limiter.hit("api", "key-1", 4)
        assert first.remaining == 3


class TestSessions:
    async def test_create_load_and_end_every_session(
        self, request: pytest.FixtureRequest, topology_url: str, client: Any, redis_prefix: str
    ):
        store = SessionStore(client, redis_prefix, ttl_seconds=300)
        user = uuid.uuid4()
        tokens = [(await store.create(user, "mark"))[0] for _ in range(3)]
        loaded = [await store.load(t) for t in tokens]
        assert all(s is not None and s.user_id == user for s in loaded)
        await store.delete_all(user)
        assert [await store.load(t) for t in tokens] == [None, None, None]


class TestCacheGenerations:
    async def test_list_cache_hits_until_a_write_renews_the_generation(
        self, request: pytest.FixtureRequest, topology_url: str, client: Any, redis_prefix: str
    ):
        cache = TicketCache(CacheBackend(client, prefix=redis_prefix, op_timeout_s=1.0))
        uow = UnitOfWork(sessions=None)  # type: ignore[arg-type]  # the cache alone: no database
        renders: list[int] = []

        async def load() -> TicketPage:  # the n-th render names itself in the cursor
            renders.append(1)
            return TicketPage.of([], next_cursor=str(len(renders)))

        first = await cache.get_list(uow, STAFF_VIEW, "limit=20", load)
        again = await cache.get_list(uow, STAFF_VIEW, "limit=20", load)
        assert again.rendered is None  # served from Redis: bytes, parsed by the cache layer
        assert [d.page().meta.next_cursor for d in (first, again)] == ["1", "1"]
        assert first.body == again.body
        assert len(renders) == 1
        await cache.invalidate({uuid.uuid4(): None})
        fresh = await cache.get_list(uow, STAFF_VIEW, "limit=20", load)
        assert fresh.page().meta.next_cursor == "2"
        assert cache.backend.breaker.allow()  # no Redis error was hidden by the fallback


class TestSentinelFailover:
    async def test_sessions_survive_a_master_failover(self, scaleout_dir, redis_prefix: str):
        """Kill the master: after Sentinel promotes the replica, the same client (same URL)
        reads the sessions written before and writes new ones. During the failover window the
        store raises DependencyUnavailable (a 503), never anything else."""
        import asyncio

        from helpline.errors import DependencyUnavailable
        from scripts.lib.scaleout import cleanup_dir

        with cleanup_dir(scaleout_dir / f"failover-{uuid.uuid4().hex[:6]}") as workdir:
            sentinel = RedisSentinel(workdir, with_replica=True)
            sentinel.start()
            try:
                redis = make_redis(Settings(env=Environment.test, redis_url=sentinel.url))
                store = SessionStore(redis, redis_prefix, ttl_seconds=300)
                user = uuid.uuid4()
                token, _ = await store.create(user, "mark")
                assert await redis.execute_command("WAIT", 1, 2000) == 1  # on the replica too
                old_master = sentinel.master_port()
                sentinel.master.stop()

                unavailable = 0
                loaded = None
                for _ in range(600):  # polls Sentinel's failover, bounded
                    try:
                        loaded = await store.load(token)
                        break
                    except DependencyUnavailable:
                        unavailable += 1
                        await asyncio.sleep(0.05)
                assert loaded is not None
                assert loaded.user_id == user
                assert sentinel.master_port() != old_master
                assert sentinel.replica is not None
                assert sentinel.master_port() == sentinel.replica.port
                token2, _ = await store.create(user, "mark")
                assert await store.load(token2) is not None
                assert unavailable >= 1  # the window was real, and only 503s were seen in it
                await redis.aclose()
            finally:
                sentinel.stop()
