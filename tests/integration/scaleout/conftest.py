"""Scale-out engines for the tests in this folder, started once per run (marker `scaleout`; one
xdist group, so once per run under `scripts/test` too): a private PostgreSQL primary with a
streaming replica, PgBouncer in front of the primary, a 3-node Redis Cluster and a
Sentinel-watched Redis — all on 127.0.0.1, removed at the end."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.lib.scaleout import (
    PgBouncer,
    PostgresCluster,
    RedisCluster,
    RedisSentinel,
    cleanup_dir,
    replayed,
    scratch_dir,
)
from scripts.lib.services import create_database, drop_database


@pytest.hookimpl(tryfirst=True)  # before tests/conftest.py groups by fixture, and before xdist
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.scaleout)
            item.add_marker(pytest.mark.integration)
            # One set of engines per run: every scale-out test on the same xdist worker.
            item.add_marker(pytest.mark.xdist_group("scaleout"))


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
