"""`helpline keys verify`, `keys create --replace` and scripts/dev's one development key."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from helpline.seed.loader import connect_kwargs
from tests.integration.test_cli_set_password import cli_env, helpline  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


async def _live_keys(url: str, email: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(**connect_kwargs(url))
    try:
        rows = await conn.fetch(
            "SELECT k.name, k.prefix FROM api_keys k JOIN users u ON u.id = k.user_id"
            " WHERE u.email = $1 AND k.revoked_at IS NULL"
            " AND (k.expires_at IS NULL OR k.expires_at > now()) ORDER BY k.created_at",
            email,
        )
        return [(r["name"], r["prefix"]) for r in rows]
    finally:
        await conn.close()


def live_keys(env: dict[str, str], email: str) -> list[tuple[str, str]]:
    return asyncio.run(_live_keys(env["HELPLINE_DATABASE_URL"], email))


def development_keys(env: dict[str, str], email: str) -> list[str]:
    return [prefix for name, prefix in live_keys(env, email) if name == "development"]


@pytest.fixture
def admin_email(cli_env) -> str:  # noqa: F811
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    created = helpline(["users", "create", "--email", email, "--role", "admin"], cli_env)
    assert created.returncode == 0, created.stderr
    return email


def dev_admin_key(env: dict[str, str], email: str, file: Path) -> Any:
    return subprocess.run(
        ["bash", "-c", 'source scripts/lib/devkey.sh && dev_admin_key "$1" "$2"', "-", email, file],
        cwd=ROOT,
        env={**os.environ, **env, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=False,
    )


class TestVerify:
    def test_a_working_key_passes_and_a_revoked_one_fails(self, cli_env, admin_email):  # noqa: F811
        made = helpline(["keys", "create", "--email", admin_email], cli_env)
        key = made.stdout.strip()
        ok = helpline(["keys", "verify"], cli_env, stdin=key + "\n")
        assert ok.returncode == 0, ok.stderr
        assert ok.stderr.startswith("valid: key ")
        assert key not in ok.stderr + ok.stdout
        bad = helpline(["keys", "verify"], cli_env, stdin="hl_" + "x" * 40 + "\n")
        assert bad.returncode == 1
        assert "malformed" in bad.stderr
        rotated = helpline(["keys", "create", "--email", admin_email, "--replace"], cli_env)
        assert rotated.returncode == 0  # same name ("cli"): the first key is revoked
        gone = helpline(["keys", "verify"], cli_env, stdin=key + "\n")
        assert gone.returncode == 1
        assert "revoked" in gone.stderr

    def test_replace_revokes_only_live_keys_of_that_name(self, cli_env, admin_email):  # noqa: F811
        for name in ("development", "ci"):
            assert helpline(["keys", "create", "--email", admin_email, "--name", name], cli_env)
        helpline(
            ["keys", "create", "--email", admin_email, "--name", "development", "--replace"],
            cli_env,
        )
        names = [name for name, _ in live_keys(cli_env, admin_email)]
        assert sorted(names) == ["ci", "development", "initial"]  # "initial": users create


class TestDevelopmentKey:
    def test_scripts_dev_reuses_one_key_and_replaces_it_when_it_stops_working(
        self,
        cli_env,  # noqa: F811
        admin_email,
        tmp_path,
    ):
        file = tmp_path / "var" / "dev-admin-key"
        first = dev_admin_key(cli_env, admin_email, file)
        assert first.returncode == 0, first.stderr
        key = first.stdout.strip()
        assert file.read_text().strip() == key
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        for _ in range(2):  # later starts: the same key, no new ones
            again = dev_admin_key(cli_env, admin_email, file)
            assert again.stdout.strip() == key
        assert development_keys(cli_env, admin_email) == [key[:11]]

        file.write_text("hl_not-a-key\n")  # lost or broken: a new key replaces the old one
        fresh = dev_admin_key(cli_env, admin_email, file).stdout.strip()
        assert fresh != key
        assert development_keys(cli_env, admin_email) == [fresh[:11]]
