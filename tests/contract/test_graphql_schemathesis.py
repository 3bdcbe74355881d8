"""Schemathesis against the running service's `/graphql` (schema by introspection), bounded.

Generated queries and mutations with random arguments must never produce a server error: every
failure must be a GraphQL error with a client-side `extensions.code`, never `internal-error`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.lib.live_server import live_server, server_env
from scripts.lib.services import create_database, drop_database, redis_url

pytestmark = pytest.mark.contract
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(pg_server, services, run_id, tmp_path_factory):
    url = create_database(pg_server)
    env = server_env(url, redis_url(services), f"helpline-test-{run_id}-graphql")
    log = tmp_path_factory.mktemp("graphql-contract") / "server.log"
    try:
        with live_server(env, log) as srv:
            yield srv
    finally:
        drop_database(pg_server, url)


def test_schemathesis_graphql_finds_no_server_errors(server, tmp_path: Path):
    admin_key = server.cli(
        "users", "create", "--role", "admin", "--email", "gql-admin@example.com"
    ).strip()
    assert admin_key.startswith("hl_")
    cmd = [
        str(Path(sys.executable).parent / "st"),
        "run", f"{server.base_url}/graphql",
        "--checks", "not_a_server_error",
        "--max-examples", "10",
        "--header", f"Authorization: Bearer {admin_key}",
        "--seed", "1",
        "--no-color",
    ]  # fmt: skip
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.contract.graphql_hooks"}
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=900, check=False, env=env, cwd=ROOT
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    server_log = server.log_path.read_text()
    assert "Traceback" not in server_log, server_log[-4000:]
    assert "internal-error" not in output
