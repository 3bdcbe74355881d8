"""The read router (kit/replicas.py) against a real streaming replica: routing, read-your-writes
with replay paused, lag threshold, a replica that goes away, Redis unavailable."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from helpline.config import Environment, Settings
from helpline.db import make_engine
from helpline.kit.redis_client import redis_from_url
from helpline.kit.replicas import ReadRouter
from helpline.runtime import make_read_router, make_redis
from scripts.lib import services as test_services
from scripts.lib.scaleout import PostgresCluster, RedisCluster, replayed


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def notes_db(pg_primary: PostgresCluster, pg_replica: PostgresCluster) -> Iterator[str]:
    """A small database of its own on the primary (and so on the replica)."""
    import asyncio

    name = f"router_{uuid.uuid4().hex[:8]}"

    async def setup() -> None:
        conn = await asyncpg.connect(pg_primary.url)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        conn = await asyncpg.connect(pg_primary.url_for(name))
        await conn.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)")
        await conn.close()
        await replayed(pg_replica.url, pg_primary.url)

    asyncio.run(setup())
    yield name

    async def teardown() -> None:
        conn = await asyncpg.connect(pg_primary.url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(teardown())


def settings_for(
    pg_primary: PostgresCluster, pg_replica: PostgresCluster, db: str, prefix: str, **extra: Any
) -> Settings:
    redis = extra.pop("redis_url", None) or test_services.redis_url(test_services.LocalServices())
    return Settings(
        env=Environment.test,
        database_url=pg_primary.url_for(db),
        database_replica_urls=[pg_replica.url_for(db)],
        redis_url=redis,
        redis_key_prefix=prefix,
        **extra,
    )


@pytest.fixture
async def primary(pg_primary: PostgresCluster, notes_db: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(pg_primary.url_for(notes_db), Settings(env=Environment.test))
    yield engine
    await engine.dispose()


@pytest.fixture
async def router(
    pg_primary: PostgresCluster,
    pg_replica: PostgresCluster,
    notes_db: str,
    primary: AsyncEngine,
    redis_prefix: str,
) -> AsyncIterator[ReadRouter]:
    settings = settings_for(pg_primary, pg_replica, notes_db, redis_prefix)
    assert settings.redis_url is not None
    # Generous Redis timeouts: a loaded test machine must not turn into a "Redis down" result.
    redis = redis_from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    router: ReadRouter = make_read_router(settings, primary, redis)
    router.redis_timeout_s = 5.0
    router.clock = Clock()
    await router.refresh()
    yield router
    await router.stop()
    keys = [k async for k in redis.scan_iter(match=f"{redis_prefix}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def write(engine: AsyncEngine, note_id: int, body: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO notes VALUES (:id, :body)"
                " ON CONFLICT (id) DO UPDATE SET body = excluded.body"
            ),
            {"id": note_id, "body": body},
        )


def read_note(note_id: int) -> Any:
    async def fn(session: AsyncSession) -> tuple[str | None, bool]:
        body = await session.scalar(text("SELECT body FROM notes WHERE id = :id"), {"id": note_id})
        standby = await session.scalar(text("SELECT pg_is_in_recovery()"))
        return body, bool(standby)

    return fn


async def replica_sql(replica: PostgresCluster, db: str, sql: str) -> None:
    conn = await asyncpg.connect(replica.url_for(db))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class TestRouting:
    async def test_reads_go_to_a_caught_up_replica(self, router: ReadRouter, primary: AsyncEngine):
        route = await router.choose(None)
        assert (route.reason, route.replica is not None) == ("replica", True)
        (status,) = router.status()
        assert status["usable"] is True
        assert status["lag_s"] == 0.0
        assert await router.run_read(None, read_note(-1)) == (None, True)

    async def test_without_replicas_everything_reads_the_primary(
        self, primary: AsyncEngine, redis_prefix: str
    ):
        settings = Settings(env=Environment.test, redis_key_prefix=redis_prefix)
        router = make_read_router(settings, primary, redis=None)
        await router.start()
        await router.record_write("user:nobody")  # nothing to remember, nothing fails
        route = await router.choose("user:nobody")
        assert (route.engine, route.reason) == (primary, "no-replicas")
        assert await router.run_read(None, read_note(-1)) == (None, False)
        await router.stop()


class TestReadYourWrites:
    async def test_the_writer_reads_its_write_while_replay_is_paused(
        self,
        router: ReadRouter,
        primary: AsyncEngine,
        pg_primary: PostgresCluster,
        pg_replica: PostgresCluster,
        notes_db: str,
    ):
        await write(primary, 1, "v1")
        await router.record_write("user:alice")
        await replayed(pg_replica.url, pg_primary.url)
        await router.refresh()
        assert (await router.choose("user:alice")).reason == "replica"
        assert await router.run_read("user:alice", read_note(1)) == ("v1", True)

        await replica_sql(pg_replica, notes_db, "SELECT pg_wal_replay_pause()")
        try:
            await write(primary, 1, "v2")
            await router.record_write("user:alice")
            await router.refresh()
            # Alice wrote v2: the paused replica has not replayed it, so she reads the primary.
            assert (await router.choose("user:alice")).reason == "behind-own-write"
            assert await router.run_read("user:alice", read_note(1)) == ("v2", False)
            # Bob has no recent write: the replica (lag within bounds) serves him the older v1.
            assert (await router.choose("user:bob")).reason == "replica"
            assert await router.run_read("user:bob", read_note(1)) == ("v1", True)
        finally:
            await replica_sql(pg_replica, notes_db, "SELECT pg_wal_replay_resume()")
        await replayed(pg_replica.url, pg_primary.url)
        await router.refresh()
        assert await router.run_read("user:alice", read_note(1)) == ("v2", True)

    async def test_the_marker_keeps_the_highest_position(self, router: ReadRouter):
        key = router.marker_key("user:carol")
        await router.record_write("user:carol")
        recorded = int(await router.redis.get(key))
        await router.redis.set(key, recorded + 10**9)
        await router.record_write("user:carol")  # an older position reported late
        assert int(await router.redis.get(key)) == recorded + 10**9
        assert 0 < await router.redis.pttl(key) <= router.marker_ttl_s * 1000

    async def test_without_redis_the_writer_reads_the_primary(
        self, router: ReadRouter, pg_primary: PostgresCluster
    ):
        dead = make_redis(Settings(env=Environment.test, redis_url="redis://127.0.0.1:1/0"))
        router.redis = dead
        try:
            assert (await router.choose("user:alice")).reason == "marker-unavailable"
            assert (await router.choose(None)).reason == "replica"  # no one to read after
        finally:
            await dead.aclose()

    async def test_the_marker_works_on_redis_cluster(
        self, router: ReadRouter, redis_cluster: RedisCluster, primary: AsyncEngine
    ):
        # Generous timeouts: what is tested is the marker on a cluster, not a loaded machine.
        cluster = redis_from_url(redis_cluster.url, socket_timeout=5, socket_connect_timeout=5)
        router.redis = cluster
        router.redis_timeout_s = 5.0
        try:
            await write(primary, 3, "x")
            await router.record_write("user:dave")
            assert int(await cluster.get(router.marker_key("user:dave"))) > 0
            route = await router.choose("user:dave")
            assert route.reason == "behind-own-write"  # the poll predates the write
        finally:
            await cluster.delete(router.marker_key("user:dave"))
            await cluster.aclose()


class TestDegradation:
    async def test_a_lagging_replica_serves_no_reads(
        self,
        router: ReadRouter,
        primary: AsyncEngine,
        pg_primary: PostgresCluster,
        pg_replica: PostgresCluster,
        notes_db: str,
    ):
        router.max_lag_s = 0.001
        await replica_sql(pg_replica, notes_db, "SELECT pg_wal_replay_pause()")
        try:
            await write(primary, 2, "new")
            await router.refresh()
            (status,) = router.status()
            assert status["lag_s"] > 0.001
            assert status["usable"] is False
            assert (await router.choose(None)).reason == "unavailable"
            assert await router.run_read(None, read_note(2)) == ("new", False)
        finally:
            await replica_sql(pg_replica, notes_db, "SELECT pg_wal_replay_resume()")
        await replayed(pg_replica.url, pg_primary.url)
        await router.refresh()
        assert (await router.choose(None)).reason == "replica"

    async def test_a_replica_that_goes_away_costs_no_request(
        self, router: ReadRouter, primary: AsyncEngine, pg_replica: PostgresCluster
    ):
        await write(primary, 4, "still here")
        assert (await router.choose(None)).reason == "replica"
        pg_replica.stop("immediate")
        try:
            # The router still believes in the replica: the read fails over inside run_read.
            assert await router.run_read(None, read_note(4)) == ("still here", False)
            (status,) = router.status()
            assert status["usable"] is False
            assert status["error"] is not None
            await router.refresh()  # polling a dead replica is no error either
            assert (await router.choose(None)).reason == "unavailable"
            assert [await router.run_read(None, read_note(4)) for _ in range(3)] == [
                ("still here", False)
            ] * 3
        finally:
            pg_replica.start()
        clock: Any = router.clock
        clock.now += router.retry_s + 1
        await router.refresh()
        assert (await router.choose(None)).reason == "replica"
        assert (await router.run_read(None, read_note(4)))[1] is True
