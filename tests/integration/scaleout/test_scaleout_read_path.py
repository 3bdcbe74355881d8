"""The API's read path on a streaming replica (HELPLINE_DATABASE_REPLICA_URLS): reads of ticket
GETs and lists go to the replica; the caller who just wrote reads its own write even while the
replica's replay is paused; other callers see the replica (within the lag bound)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.app import create_app
from helpline.config import Environment, Settings
from helpline.db import make_engine
from helpline.models.enums import Role
from tests.fixtures import services as test_services
from tests.fixtures.factories import TEST_PEPPER, make_actor
from tests.fixtures.scaleout import PostgresCluster, replayed

API = "/api/v1/tickets"


@pytest.fixture
async def stack(
    pg_primary: PostgresCluster, pg_replica: PostgresCluster, scaleout_database: str
) -> AsyncIterator[Any]:
    settings = Settings(
        env=Environment.test,
        database_url=pg_primary.url_for(scaleout_database),
        database_replica_urls=[pg_replica.url_for(scaleout_database)],
        database_replica_max_lag_s=300,  # a paused replica stays in use: routing is visible
        redis_url=test_services.redis_url(test_services.TestServices()),
        redis_key_prefix=f"helpline-ryw-{uuid.uuid4().hex[:8]}",
        api_key_pepper=TEST_PEPPER.decode(),
        cache_enabled=False,  # every GET reads PostgreSQL
    )
    engine = make_engine(pg_primary.url_for(scaleout_database), settings)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        actors = {
            name: await make_actor(session, role)
            for name, role in (("writer", Role.agent), ("reader", Role.agent), ("c", Role.customer))
        }
        await session.commit()
    await engine.dispose()
    await replayed(pg_replica.url, pg_primary.url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://helpline.test") as c:
            yield app, c, actors


async def _replay(pg_replica: PostgresCluster, action: str) -> None:
    conn = await asyncpg.connect(pg_replica.url)
    try:
        await conn.execute(f"SELECT pg_wal_replay_{action}()")
    finally:
        await conn.close()


async def test_the_writer_reads_its_write_while_the_replica_is_paused(
    stack, pg_primary: PostgresCluster, pg_replica: PostgresCluster
):
    app, client, actors = stack
    writer, reader = actors["writer"].headers, actors["reader"].headers
    await app.state.services.read_router.refresh()
    assert [r["usable"] for r in app.state.services.read_router.status()] == [True]
    await _replay(pg_replica, "pause")
    try:
        created = await client.post(
            API, json={"title": "Fresh", "customer_id": str(actors["c"].id)}, headers=writer
        )
        assert created.status_code == 201, created.text
        url = f"{API}/{created.json()['id']}"
        mine = await client.get(url, headers=writer)  # read-your-writes: the primary
        assert mine.status_code == 200
        assert mine.json()["title"] == "Fresh"
        listed = await client.get(API, headers=writer)
        assert created.json()["id"] in [t["id"] for t in listed.json()["data"]]
        theirs = await client.get(url, headers=reader)  # no own write: the (paused) replica
        assert theirs.status_code == 404
        assert theirs.json()["type"] == "/problems/ticket-not-found"
    finally:
        await _replay(pg_replica, "resume")
    await replayed(pg_replica.url, pg_primary.url)
    await app.state.services.read_router.refresh()
    theirs = await client.get(url, headers=reader)
    assert theirs.status_code == 200
    assert theirs.json()["title"] == "Fresh"
