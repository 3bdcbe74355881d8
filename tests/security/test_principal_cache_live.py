"""The in-process principal cache never outlives a change: two real server processes share one
PostgreSQL and one Redis; a change made through one (or through the CLI) is refused by the other
within one second (DESIGN §12: entries die within 1 s of a revocation anywhere)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx
import pytest

from scripts.lib.live_server import LiveServer, live_server, server_env
from scripts.lib.services import redis_url

pytestmark = pytest.mark.security

DEADLINE_S = 1.0


@pytest.fixture
def pair(make_database, services, tmp_path):
    url = redis_url(services)
    if url is None:
        pytest.skip("needs a real Redis shared by two processes")
    env = server_env(make_database(), url, f"helpline-live-{uuid.uuid4().hex[:8]}")
    with (
        live_server(env, tmp_path / "a.log") as a,
        live_server(env, tmp_path / "b.log") as b,
    ):
        admin = a.cli("users", "create", "--email", "root@example.com", "--role", "admin")
        yield a, b, admin.strip().splitlines()[-1]


def _agent_key(a: LiveServer, admin: str) -> tuple[str, str, str]:
    """A new agent with a key: (user id, key id, secret)."""
    auth = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=a.base_url, headers=auth, timeout=10) as client:
        user = client.post(
            "/api/v1/users",
            json={
                "email": f"agent-{uuid.uuid4().hex[:6]}@example.com",
                "name": "Agent",
                "role": "agent",
            },
        )
        assert user.status_code == 201, user.text
        key = client.post("/api/v1/api-keys", json={"name": "k", "user_id": user.json()["id"]})
        assert key.status_code == 201, key.text
    return user.json()["id"], key.json()["id"], key.json()["key"]


def _refused_within(b: LiveServer, secret: str, change: Callable[[], None]) -> float:
    """Warm ``secret`` up on B, apply ``change``, then poll B: seconds until it refuses."""
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=b.base_url, headers=headers, timeout=10) as client:
        for _ in range(3):  # B now holds the principal in its cache
            r = client.get("/api/v1/tickets?limit=1")
            assert r.status_code == 200, r.text
        change()
        started = time.monotonic()
        while True:
            r = client.get("/api/v1/tickets?limit=1")
            elapsed = time.monotonic() - started
            if r.status_code != 200:
                assert r.status_code in (401, 403), r.text
                assert r.headers["content-type"] == "application/problem+json"
                break
            assert elapsed < 3 * DEADLINE_S, "B still accepts the changed key"
            time.sleep(0.02)
        # Refused for good: never accepted again.
        assert all(
            client.get("/api/v1/tickets?limit=1").status_code in (401, 403) for _ in range(5)
        )
    return elapsed


def test_revocation_through_a_is_refused_by_b_within_a_second(pair):
    a, b, admin = pair
    _user, key_id, secret = _agent_key(a, admin)

    def revoke() -> None:
        r = httpx.delete(
            f"{a.base_url}/api/v1/api-keys/{key_id}",
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert r.status_code == 204, r.text

    assert _refused_within(b, secret, revoke) < DEADLINE_S


def test_deactivation_through_a_is_refused_by_b_within_a_second(pair):
    a, b, admin = pair
    user_id, _key, secret = _agent_key(a, admin)

    def deactivate() -> None:
        r = httpx.patch(
            f"{a.base_url}/api/v1/users/{user_id}",
            json={"is_active": False},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert r.status_code == 200, r.text

    assert _refused_within(b, secret, deactivate) < DEADLINE_S


def test_revocation_from_the_cli_is_refused_by_b_within_a_second(pair):
    a, b, admin = pair
    _user, key_id, secret = _agent_key(a, admin)
    assert _refused_within(b, secret, lambda: a.cli("keys", "revoke", key_id)) < DEADLINE_S


def test_role_change_takes_effect_on_b_within_a_second(pair):
    a, b, admin = pair
    user_id, _key, secret = _agent_key(a, admin)
    headers = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{b.base_url}/api/v1/users", headers=headers).status_code == 200
    r = httpx.patch(
        f"{a.base_url}/api/v1/users/{user_id}",
        json={"role": "customer"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert r.status_code == 200, r.text
    started = time.monotonic()
    while httpx.get(f"{b.base_url}/api/v1/users", headers=headers).status_code == 200:
        assert time.monotonic() - started < 3 * DEADLINE_S, "B still treats the user as an agent"
        time.sleep(0.02)
    assert time.monotonic() - started < DEADLINE_S
    r = httpx.get(f"{b.base_url}/api/v1/users", headers=headers)
    assert r.status_code == 403
    assert r.json()["type"] == "/problems/permission-denied"
