"""Helpline behind Debian's PgBouncer in transaction pooling (HELPLINE_DATABASE_PGBOUNCER)."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from helpline.config import Environment, Settings
from helpline.db import ActorContext, Database, make_engine
from scripts.lib.live_server import BIN, server_env
from scripts.lib.scaleout import PgBouncer, PostgresCluster


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "helpline"), *args], env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture
def tiny_bouncer(pg_primary: PostgresCluster, scaleout_dir: Path) -> Iterator[PgBouncer]:
    """One server connection for every client: any statement-name clash shows at once. Like the
    issue's reporter, it ignores (drops) the start-up parameters it does not know."""
    bouncer = PgBouncer(
        scaleout_dir / f"tiny-{uuid.uuid4().hex[:6]}",
        pg_primary.port,
        pool_size=1,
        ignore_startup=",jit,statement_timeout",
    )
    bouncer.start()
    yield bouncer
    bouncer.stop()


def users_create(env: dict[str, str], email: str | None = None) -> subprocess.CompletedProcess[str]:
    email = email or f"agent-{uuid.uuid4().hex[:8]}@example.com"
    return cli(env, "users", "create", "--role", "agent", "--email", email)


class TestCommandLine:
    def test_without_the_setting_the_second_command_collides(
        self, tiny_bouncer: PgBouncer, scaleout_database: str, redis_prefix: str
    ):
        env = server_env(tiny_bouncer.url_for(scaleout_database), None, redis_prefix)
        first, second = users_create(env), users_create(env)
        outputs = first.stderr + second.stderr
        assert first.returncode != 0 or second.returncode != 0
        assert "prepared statement" in outputs
        assert "already exists" in outputs

    def test_with_the_setting_every_command_works(
        self,
        tiny_bouncer: PgBouncer,
        pg_primary: PostgresCluster,
        scaleout_database: str,
        redis_prefix: str,
    ):
        env = server_env(
            tiny_bouncer.url_for(scaleout_database),
            None,
            redis_prefix,
            HELPLINE_DATABASE_PGBOUNCER="true",
        )
        emails = [f"agent-{uuid.uuid4().hex[:8]}@example.com" for _ in range(2)]
        for email in emails:
            result = users_create(env, email)
            assert result.returncode == 0, result.stderr
        listed = cli(env, "keys", "list", "--email", emails[0])
        assert listed.returncode == 0, listed.stderr

        async def stored() -> set[str]:
            conn = await asyncpg.connect(pg_primary.url_for(scaleout_database))
            try:
                rows = await conn.fetch("SELECT email FROM users WHERE email = any($1)", emails)
                return {r["email"] for r in rows}
            finally:
                await conn.close()

        assert asyncio.run(stored()) == set(emails)


class TestStartupParameters:
    def test_a_strict_pgbouncer_accepts_the_engine_only_with_the_setting(
        self, pgbouncer: PgBouncer, scaleout_database: str, redis_prefix: str
    ):
        url = pgbouncer.url_for(scaleout_database)
        refused = users_create(server_env(url, None, redis_prefix))
        assert refused.returncode != 0
        assert "unsupported startup parameter" in refused.stderr
        env = server_env(url, None, redis_prefix, HELPLINE_DATABASE_PGBOUNCER="true")
        accepted = users_create(env)
        assert accepted.returncode == 0, accepted.stderr


class TestEngine:
    async def test_concurrent_transactions_keep_their_actor_context(
        self, pgbouncer: PgBouncer, scaleout_database: str
    ):
        """Forty transactions over five server connections: each sees only its own
        transaction-local actor settings, and no statement name ever clashes."""
        settings = Settings(env=Environment.test, database_pgbouncer=True, db_pool_size=20)
        engine = make_engine(pgbouncer.url_for(scaleout_database), settings)
        database = Database(engine)

        async def one(n: int) -> tuple[str, str]:
            actor = ActorContext(actor_type="system", request_id=f"req-{n}")
            async with database.transaction(actor) as session:
                await session.execute(text("SELECT pg_sleep(0.01)"))
                seen = await session.execute(
                    text("SELECT current_setting('helpline.request_id'), CAST(:n AS text)"),
                    {"n": str(n)},
                )
                request_id, echoed = seen.one()
                return str(request_id), str(echoed)

        try:
            results = await asyncio.gather(*(one(n) for n in range(40)))
            assert results == [(f"req-{n}", str(n)) for n in range(40)]
            # Nothing leaks into the next transaction on a reused server connection.
            async with database.transaction() as session:
                leaked = await session.execute(
                    text("SELECT current_setting('helpline.request_id', true)")
                )
                assert leaked.scalar_one() in (None, "")
        finally:
            await engine.dispose()
