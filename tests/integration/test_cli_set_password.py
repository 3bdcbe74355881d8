"""`helpline users set-password`: a sign-in password for the web interface, set from the CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from typing import Any

import asyncpg
import pytest

from helpline.auth.sessions import SessionStore
from helpline.kit.passwords import verify_password
from helpline.runtime import make_redis
from helpline.seed.loader import connect_kwargs
from scripts.lib.services import redis_url

pytestmark = pytest.mark.integration


def helpline(args: list[str], env: dict[str, str], stdin: str | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-c", "from helpline.cli.main import app; app()", *args],
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


async def _password_hash(url: str, email: str) -> str | None:
    conn = await asyncpg.connect(**connect_kwargs(url))
    try:
        return await conn.fetchval("SELECT password_hash FROM users WHERE email = $1", email)
    finally:
        await conn.close()


@pytest.fixture
def cli_env(make_database, services, settings) -> dict[str, str]:
    env = {
        "HELPLINE_ENV": "test",
        "HELPLINE_DATABASE_URL": make_database(),
        "HELPLINE_REDIS_KEY_PREFIX": settings.redis_key_prefix + "-cli",
    }
    url = redis_url(services)
    if url:
        env["HELPLINE_REDIS_URL"] = url
    return env


@pytest.fixture
def agent_email(cli_env) -> str:
    email = f"agent-{uuid.uuid4().hex[:8]}@example.com"
    created = helpline(["users", "create", "--email", email, "--role", "agent"], cli_env)
    assert created.returncode == 0, created.stderr
    return email


class TestSetPassword:
    def test_generated_password_is_printed_alone_and_works(self, cli_env, agent_email):
        done = helpline(["users", "set-password", "--email", agent_email], cli_env)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert len(lines) == 1
        password = lines[0]
        assert len(password) >= 20
        assert f"password set for agent {agent_email}" in done.stderr
        assert password not in done.stderr
        stored = asyncio.run(_password_hash(cli_env["HELPLINE_DATABASE_URL"], agent_email))
        assert stored is not None
        assert password not in stored
        assert asyncio.run(verify_password(stored, password))
        assert not asyncio.run(verify_password(stored, password + "x"))

    def test_password_from_stdin_and_old_sessions_end(self, cli_env, agent_email):
        url = cli_env["HELPLINE_REDIS_URL"]  # sessions of another process need a shared Redis
        prefix = cli_env["HELPLINE_REDIS_KEY_PREFIX"]

        async def with_store(action: Any) -> Any:
            from helpline.config import Settings

            redis = make_redis(Settings(env="test", redis_url=url, redis_key_prefix=prefix))
            try:
                return await action(SessionStore(redis, prefix, 600))
            finally:
                await redis.aclose()

        async def open_session(store: SessionStore) -> str:
            conn = await asyncpg.connect(**connect_kwargs(cli_env["HELPLINE_DATABASE_URL"]))
            user_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", agent_email)
            await conn.close()
            token, _ = await store.create(user_id, "mark")
            return token

        token = asyncio.run(with_store(open_session))
        assert asyncio.run(with_store(lambda store: store.load(token))) is not None
        done = helpline(
            ["users", "set-password", "--email", agent_email, "--password-stdin"],
            cli_env,
            stdin="Lantern-Quartz-Meadow-93\n",
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == ""
        stored = asyncio.run(_password_hash(cli_env["HELPLINE_DATABASE_URL"], agent_email))
        assert asyncio.run(verify_password(stored, "Lantern-Quartz-Meadow-93"))
        assert asyncio.run(with_store(lambda store: store.load(token))) is None

    def test_weak_password_is_refused_and_changes_nothing(self, cli_env, agent_email):
        done = helpline(
            ["users", "set-password", "--email", agent_email, "--password-stdin"],
            cli_env,
            stdin="password\n",
        )
        assert done.returncode == 1
        assert done.stderr.startswith("error: The password is too weak. The password ")
        assert "must be at least 12 characters" in done.stderr
        assert "Traceback" not in done.stderr
        assert asyncio.run(_password_hash(cli_env["HELPLINE_DATABASE_URL"], agent_email)) is None

    def test_unknown_email_fails_with_one_line(self, cli_env):
        done = helpline(["users", "set-password", "--email", "nobody@example.com"], cli_env)
        assert done.returncode == 1
        assert done.stderr.strip() == "error: no user with email nobody@example.com"
        assert done.stdout == ""
