"""Against real `helpline serve` processes: an exact shared rate limit across two servers, and
secrets that never reach logs or the database."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections import Counter

import httpx
import pytest
from sqlalchemy.engine import make_url

from scripts.lib.live_server import LiveServer, live_server, server_env
from scripts.lib.services import redis_url

pytestmark = pytest.mark.security

PASSWORD = "tangerine-Kettle-47-orbit"


@pytest.fixture
def live_env(make_database, services):
    url = redis_url(services)
    if url is None:
        pytest.skip("needs a real Redis shared by two processes")
    database_url = make_database()
    return database_url, server_env(database_url, url, f"helpline-live-{uuid.uuid4().hex[:8]}")


def create_admin(server: LiveServer, email: str) -> str:
    return (
        server.cli("users", "create", "--email", email, "--role", "admin").strip().splitlines()[-1]
    )


async def _burst(urls: list[str], key: str, total: int) -> Counter[int]:
    limits = httpx.Limits(max_connections=total)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        requests = [
            client.get(f"{urls[i % len(urls)]}/api/v1/auth/me", headers={"X-API-Key": key})
            for i in range(total)
        ]
        responses = await asyncio.gather(*requests)
    return Counter(r.status_code for r in responses)


def test_limit_is_exact_across_two_server_processes(live_env, tmp_path):
    _database_url, env = live_env
    with (
        live_server(env, tmp_path / "a.log") as a,
        live_server(env, tmp_path / "b.log") as b,
    ):
        create_admin(a, "root@example.com")
        key = a.cli("keys", "create", "--email", "root@example.com", "--rate-limit", "100")
        key = key.strip().splitlines()[-1]
        other = a.cli("keys", "create", "--email", "root@example.com", "--rate-limit", "100")
        other = other.strip().splitlines()[-1]
        counts = asyncio.run(_burst([a.base_url, b.base_url], key, 150))
        assert counts == Counter({200: 100, 429: 50}), counts
        untouched = httpx.get(f"{b.base_url}/api/v1/auth/me", headers={"X-API-Key": other})
        assert untouched.status_code == 200
        assert untouched.headers["ratelimit"].startswith('"api-key";r=99;')


def test_no_secret_in_logs_or_database_dump(live_env, tmp_path):
    database_url, env = live_env
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump missing")
    secrets: list[str] = []
    with live_server(env, tmp_path / "server.log") as server:
        admin_key = create_admin(server, "boss@example.com")
        secrets.append(admin_key)
        auth = {"Authorization": f"Bearer {admin_key}"}
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            r = client.post(
                "/api/v1/users",
                json={
                    "email": "web@example.com",
                    "name": "Web",
                    "role": "agent",
                    "password": PASSWORD,
                },
                headers=auth,
            )
            assert r.status_code == 201, r.text
            created = client.post("/api/v1/api-keys", json={"name": "ci"}, headers=auth).json()
            secrets.append(created["key"])
            rotated = client.post(
                f"/api/v1/api-keys/{created['id']}/rotate",
                json={"grace_period_seconds": 0},
                headers=auth,
            ).json()
            secrets.append(rotated["key"])
            assert (
                client.get("/api/v1/auth/me", headers={"X-API-Key": created["key"]}).status_code
                == 401
            )
            login = client.post(
                "/api/v1/auth/login", json={"email": "web@example.com", "password": PASSWORD}
            )
            assert login.status_code == 200
            secrets += [login.cookies["helpline_session"], login.json()["csrf_token"]]
            bad = client.post(
                "/api/v1/auth/login", json={"email": "web@example.com", "password": PASSWORD + "x"}
            )
            assert bad.status_code == 401
            client.get("/api/v1/tickets", headers={"X-API-Key": rotated["key"]})
        log_text = server.log_path.read_text()
    assert "request" in log_text  # the access log was written
    url = make_url(database_url)
    dump = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            url.database or "",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"PGPASSWORD": url.password or "", "PATH": "/usr/bin:/bin"},
    ).stdout
    assert "api_keys" in dump
    for secret in [*secrets, PASSWORD]:
        assert secret not in log_text
        assert secret not in dump
        assert secret[:-6] not in dump  # not even the key body without its checksum
