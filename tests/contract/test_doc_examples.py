"""Every usage example in docs/examples runs against a live server and prints what the docs say."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.fixtures.live_server import live_server, server_env
from tests.fixtures.services import create_database, drop_database, redis_url

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
    assert "stale patch 412 /problems/precondition-failed current 2" in out
    assert "bad input 422 ['body', 'title']" in out
    assert "paged through 2 tickets" in out


def test_every_example_is_tested_and_published():
    tested = {"tickets.sh", "tickets.py"}
    assert {p.name for p in EXAMPLES.iterdir() if p.suffix in {".sh", ".py"}} == tested
    page = (EXAMPLES.parent / "examples.md").read_text()
    assert all(f'--8<-- "docs/examples/{name}"' in page for name in tested)
