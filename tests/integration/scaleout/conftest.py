"""Scale-out engines for the tests in this folder, started once per run (marker `scaleout`):
a private PostgreSQL primary with a streaming replica, PgBouncer in front of the primary, a
3-node Redis Cluster and a Sentinel-watched Redis — all on 127.0.0.1, removed at the end."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.fixtures.scaleout import (
    PgBouncer,
    PostgresCluster,
    RedisCluster,
    RedisSentinel,
    cleanup_dir,
    scratch_dir,
)
from tests.fixtures.services import create_database, drop_database


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.scaleout)
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def scaleout_dir() -> Iterator[Path]:
    with cleanup_dir(scratch_dir("helpline-scaleout-")) as path:
        yield path


@pytest.fixture(scope="session")
def pg_primary(scaleout_dir: Path) -> Iterator[PostgresCluster]:
    cluster = PostgresCluster.primary(scaleout_dir / "primary")
    yield cluster
    cluster.stop("immediate")


@pytest.fixture(scope="session")
def pg_replica(pg_primary: PostgresCluster, scaleout_dir: Path) -> Iterator[PostgresCluster]:
    replica = pg_primary.replica(scaleout_dir / "replica")
    yield replica
    replica.stop("immediate")


@pytest.fixture(scope="session")
def pgbouncer(pg_primary: PostgresCluster, scaleout_dir: Path) -> Iterator[PgBouncer]:
    bouncer = PgBouncer(scaleout_dir / "pgbouncer", pg_primary.port)
    bouncer.start()
    yield bouncer
    bouncer.stop()


@pytest.fixture(scope="session")
def redis_cluster(scaleout_dir: Path) -> Iterator[RedisCluster]:
    cluster = RedisCluster(scaleout_dir / "redis-cluster")
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def redis_sentinel(scaleout_dir: Path) -> Iterator[RedisSentinel]:
    sentinel = RedisSentinel(scaleout_dir / "redis-sentinel")
    sentinel.start()
    yield sentinel
    sentinel.stop()


async def replayed(replica_url: str, primary_url: str, within: float = 20.0) -> None:
    """Wait until the replica has replayed everything the primary has flushed."""
    primary = await asyncpg.connect(primary_url)
    replica = await asyncpg.connect(replica_url)
    try:
        target = await primary.fetchval("SELECT pg_current_wal_flush_lsn()")
        deadline = time.monotonic() + within
        while await replica.fetchval("SELECT pg_last_wal_replay_lsn() < $1::pg_lsn", target):
            if time.monotonic() > deadline:
                raise TimeoutError("replica did not catch up")
            await asyncio.sleep(0.02)  # polling replication progress, not waiting for time
    finally:
        await primary.close()
        await replica.close()


@pytest.fixture(scope="session")
def scaleout_database(pg_primary: PostgresCluster, pg_replica: PostgresCluster) -> Iterator[str]:
    """A migrated Helpline database on the private primary (and so on its replica); its name."""
    url = create_database(pg_primary.url, prefix="helpline_scaleout")
    name = url.rsplit("/", 1)[1]
    asyncio.run(replayed(pg_replica.url, pg_primary.url))
    yield name
    drop_database(pg_primary.url, url)


@pytest.fixture
def redis_prefix() -> str:
    return f"helpline-scaleout-{uuid.uuid4().hex[:8]}"
