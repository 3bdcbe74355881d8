"""Every usage example in docs/examples runs against a live server and prints what the docs say."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from scripts.lib.live_server import live_server, server_env
from scripts.lib.services import create_database, drop_database, redis_url

pytestmark = pytest.mark.contract
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.fixture(scope="module")
def example_env(pg_server, services, run_id, tmp_path_factory):
    url = create_database(pg_server)
    env = server_env(url, redis_url(services), f"helpline-test-{run_id}-examples")
    log = tmp_path_factory.mktemp("examples") / "server.log"
    try:
        with live_server(env, log) as srv:
            admin_key = srv.cli(
                "users", "create", "--role", "admin", "--email", "ex-admin@example.com"
            ).strip()
            customer_key = srv.cli(
                "users", "create", "--role", "customer", "--email", "ex-cust@example.com"
            ).strip()
            me = httpx.post(
                f"{srv.base_url}/api/v1/tickets",
                json={"title": "first"},
                headers={"Authorization": f"Bearer {customer_key}"},
            )
            assert me.status_code == 201, me.text
            yield {
                **os.environ,
                "HELPLINE_URL": srv.base_url,
                "HELPLINE_API_KEY": admin_key,
                "CUSTOMER_ID": me.json()["customer_id"],
            }
    finally:
        drop_database(pg_server, url)


def run(cmd: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def example(name: str) -> list[str]:
    path = EXAMPLES / name
    return ["bash", str(path)] if path.suffix == ".sh" else [sys.executable, str(path)]


@pytest.fixture(scope="module")
def rate_limited_env(pg_server, services, run_id, tmp_path_factory):
    """A second live server allowing 3 requests per minute per key, and two keys on it."""
    url = create_database(pg_server)
    env = server_env(
        url,
        redis_url(services),
        f"helpline-test-{run_id}-examples-rl",
        HELPLINE_DEFAULT_RATE_LIMIT_PER_MINUTE="3",
    )
    log = tmp_path_factory.mktemp("examples-rl") / "server.log"
    try:
        with live_server(env, log) as srv:
            keys = [
                srv.cli(
                    "users", "create", "--role", "agent", "--email", f"rl-{n}@example.com"
                ).strip()
                for n in ("curl", "python")
            ]
            yield [
                {**os.environ, "HELPLINE_URL": srv.base_url, "HELPLINE_API_KEY": k} for k in keys
            ]
    finally:
        drop_database(pg_server, url)


def test_tickets_curl_example(example_env):
    out = run(["bash", str(EXAMPLES / "tickets.sh")], example_env)
    lines = out.splitlines()
    assert lines[0].startswith("created ")
    assert "opened" in lines
    assert "status open version 4 metadata {'plan': 'pro'}" in lines
    assert "found 1" in lines
    assert lines[-1] == "deleted 204"


def test_tickets_python_example(example_env):
    out = run([sys.executable, str(EXAMPLES / "tickets.py")], example_env)
    assert 'version 1 etag "1"' in out
    assert "conditional get 304" in out
    assert "stale patch of another field 200 version 3" in out
    assert "stale patch 412 /problems/precondition-failed current 3" in out
    assert "conflict priority urgent" in out
    assert "bad input 422 ['body', 'title']" in out
    assert "paged through 2 tickets" in out


def test_users_examples(example_env):
    out = run(example("users.sh"), example_env).splitlines()
    assert out[0].startswith("created agent dana-")
    assert out[0].endswith("@example.com active True")
    assert out[1:] == ["agents include dana: True", "bad role 422 ['body', 'role']"]
    out = run(example("users.py"), example_env).splitlines()
    assert out == [
        "created agent location True",
        "duplicate 409 /problems/email-taken",
        "listed agents include sam: True",
    ]


def test_api_keys_examples(example_env):
    out = run(example("api_keys.sh"), example_env).splitlines()
    assert out == [
        "scopes ['tickets:read']",
        "during grace: old 200 new 200",
        "revoked 204",
        "after revoke: old 401 new 200",
    ]
    out = run(example("api_keys.py"), example_env).splitlines()
    assert out == [
        "created True scopes ['tickets:read', 'tickets:write']",
        "users with a tickets key 403",
        "rotated 201 same lineage True",
        "old key during grace 200",
        "revoke 204",
        "old key after revoke 401 /problems/unauthenticated",
        "new key 200",
    ]


def test_idempotency_examples(example_env):
    out = run(example("idempotency.sh"), example_env).splitlines()
    assert out[0] == "idempotent-replayed: (absent)"
    assert out[2].lower() == "idempotent-replayed: true"
    assert out[1] == out[3]  # "ticket <id>": the retry returns the same ticket
    out = run(example("idempotency.py"), example_env).splitlines()
    assert out == [
        "first 201 replayed None",
        "retry 201 replayed true",
        "same ticket True",
        "different body 422 /problems/idempotency-key-reused",
    ]


def test_graphql_examples(example_env):
    out = run(example("graphql.sh"), example_env).splitlines()
    assert out[0] == "created Export to CSV fails new"
    assert "Export to CSV fails | ex-cust@example.com | Which browser do you use?" in out[1:]
    out = run(example("graphql.py"), example_env).splitlines()
    assert out == [
        "created new version 1",
        "replied as agent",
        "query: Dark mode is unreadable | ex-cust@example.com | Fixed in 2.3, please update.",
        "has next page False",
    ]


def test_attachments_example(example_env):
    out = run(example("attachments.sh"), example_env).splitlines()
    assert out == [
        "uploaded export.log text/plain 46",
        "attached ['export.log']",
        "head 46 text/plain; charset=utf-8",
        "download identical",
        "Export log (206)",
    ]


def test_sessions_example(example_env):
    out = run(example("sessions.py"), example_env).splitlines()
    assert out == [
        "login 200 expires_in 28800",
        "me via session",
        "without csrf /problems/csrf-token-invalid",
        "password changed 204 this session still works: 200",
        "logout 204",
        "after logout /problems/unauthenticated",
    ]


def test_audit_events_example(example_env):
    out = run(example("audit_events.sh"), example_env).splitlines()
    assert out == [
        "[('ticket.created', 'api_key', 'success')]",
        "user.created: user more: True",
        "refused: auth.failed failure",
    ]


def test_rate_limit_examples_honour_retry_after(rate_limited_env):
    """Both scripts run at once (one key each): each waits out one 60 s window, not two."""
    procs = [
        subprocess.Popen(example(name), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for name, env in zip(("rate_limit.sh", "rate_limit.py"), rate_limited_env, strict=True)
    ]
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=180)
        assert proc.returncode == 0, stdout.decode() + stderr.decode()
        out = stdout.decode().splitlines()
        waits = [line for line in out if "429" in line and "retrying after" in line]
        assert waits, out  # the 4th request of the minute was limited, and waited
        done = [line for line in out if line.startswith("request ") and " 200 " in line]
        assert [line.split(":")[0] for line in done] == [f"request {i}" for i in range(1, 6)]
        assert '"api-key";r=2;' in done[0], done[0]  # 3 per minute: 2 left after the first


def test_every_example_is_tested_and_published():
    tested = {
        "tickets.sh",
        "tickets.py",
        "users.sh",
        "users.py",
        "api_keys.sh",
        "api_keys.py",
        "idempotency.sh",
        "idempotency.py",
        "graphql.sh",
        "graphql.py",
        "rate_limit.sh",
        "rate_limit.py",
        "attachments.sh",
        "sessions.py",
        "audit_events.sh",
    }
    assert {p.name for p in EXAMPLES.iterdir() if p.suffix in {".sh", ".py"}} == tested
    page = (EXAMPLES.parent / "examples.md").read_text()
    assert all(f'--8<-- "docs/examples/{name}"' in page for name in tested)
