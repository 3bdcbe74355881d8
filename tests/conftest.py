"""Test harness: one freshly migrated database and one Redis key prefix per run; every test runs
inside a transaction that is rolled back (the app's commits become savepoint releases)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from helpline.app import create_app
from helpline.config import Environment, Settings
from helpline.db import Database, make_engine
from tests.fixtures.clock import FakeClock
from tests.fixtures.services import (
    TestServices,
    create_database,
    drop_database,
    redis_url,
    server_url,
)

pytest_plugins = ["tests.fixtures.actors"]


@pytest.fixture(scope="session")
def services() -> TestServices:
    return TestServices()


@pytest.fixture(scope="session")
def pg_server(services: TestServices) -> str:
    return server_url(services)


@pytest.fixture(scope="session")
def database_url(pg_server: str) -> Iterator[str]:
    """This run's own database, built by the real migrations."""
    url = create_database(pg_server)
    yield url
    drop_database(pg_server, url)


@pytest.fixture
def make_database(pg_server: str) -> Iterator[Any]:
    """Factory for extra databases (migrated or empty), dropped after the test."""
    made: list[str] = []

    def factory(*, migrate: bool = True) -> str:
        url = create_database(pg_server, migrate=migrate)
        made.append(url)
        return url

    yield factory
    for url in made:
        drop_database(pg_server, url)


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture(scope="session")
def settings(database_url: str, services: TestServices, run_id: str) -> Settings:
    return Settings(
        env=Environment.test,
        database_url=database_url,
        redis_url=redis_url(services),
        redis_key_prefix=f"helpline-test-{run_id}",
        secret_key="test-secret-key-" + "x" * 32,
        api_key_pepper="test-pepper-" + "y" * 32,
        db_pool_size=5,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    assert settings.database_url is not None
    engine = make_engine(settings.database_url, settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[Database]:
    """A Database whose sessions all join one outer transaction, rolled back after the test."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield Database(engine, connection=connection)
        await transaction.rollback()


@pytest.fixture
async def session(db: Database) -> AsyncIterator[AsyncSession]:
    """A session inside the test's transaction, for factories and database assertions."""
    async with db.sessionmaker() as session:
        yield session


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Any]:
    from helpline.runtime import make_redis

    client = make_redis(settings)
    yield client
    prefix = settings.redis_key_prefix
    keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
    keys += [k async for k in client.scan_iter(match=f"{{{prefix}:*")]  # hash-tagged namespaces
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(
    settings: Settings, db: Database, redis: Any, clock: FakeClock
) -> AsyncIterator[FastAPI]:
    application = create_app(settings, background=False, database=db, redis=redis, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://helpline.test") as c:
        yield c
