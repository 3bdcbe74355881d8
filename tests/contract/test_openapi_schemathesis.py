"""Schemathesis against the running service: positive and negative data, all checks, bounded.

Finds 5xx responses and any response that breaks the published OpenAPI document.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from scripts.lib.live_server import live_server, server_env
from scripts.lib.services import create_database, drop_database, redis_url

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def server(pg_server, services, run_id, tmp_path_factory):
    url = create_database(pg_server)
    # Fuzzing sends far more than a minute's budget; the limiter has its own tests.
    env = server_env(
        url,
        redis_url(services),
        f"helpline-test-{run_id}-contract",
        HELPLINE_DEFAULT_RATE_LIMIT_PER_MINUTE="100000",
        HELPLINE_ANONYMOUS_RATE_LIMIT_PER_MINUTE="100000",
        HELPLINE_LOGIN_RATE_LIMIT_PER_IP_PER_MINUTE="100000",
        HELPLINE_LOGIN_RATE_LIMIT_PER_ACCOUNT_PER_MINUTE="100000",
    )
    log = tmp_path_factory.mktemp("contract") / "server.log"
    try:
        with live_server(env, log) as srv:
            yield srv
    finally:
        drop_database(pg_server, url)


PUBLIC_PATHS = {"/api/v1/auth/login", "/api/v1/auth/password-reset"}


def test_openapi_document_is_complete(server):
    doc = httpx.get(f"{server.base_url}/openapi.json").json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), (method, path)
            assert op.get("description"), (method, path)
            assert op.get("operationId"), (method, path)
            if path.startswith("/api/"):
                # Routes that take no credentials never answer 401 (tests/security/test_route_permissions.py).
                expected = {"422"} if path in PUBLIC_PATHS else {"401", "422"}
                assert expected <= set(op["responses"]), (method, path)
                if path == "/api/v1/inbound/email/{mailbox_id}":
                    # No API key: signed per Standard Webhooks with the mailbox's inbound secret.
                    assert "signed" in op["description"].lower(), op["description"]
                    continue
                assert op.get("security") or path in PUBLIC_PATHS, (method, path)


# A hang guard: about 90 operations, each through four phases, on a shared 2-core machine.
@pytest.mark.timeout(900)
def test_schemathesis_finds_no_server_errors(server, tmp_path: Path):
    admin_key = server.cli(
        "users", "create", "--role", "admin", "--email", "st-admin@example.com"
    ).strip()
    customer_key = server.cli(
        "users", "create", "--role", "customer", "--email", "st-cust@example.com"
    )
    assert admin_key.startswith("hl_")
    assert customer_key.strip().startswith("hl_")
    report = tmp_path / "junit.xml"
    cmd = [
        str(Path(sys.executable).parent / "st"),
        "--config-file",
        str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        f"{server.base_url}/openapi.json",
        # Every check runs (schemathesis' default; schemathesis.toml narrows one per operation,
        # which a --checks option would override).
        "--mode",
        "all",
        "--max-examples",
        "25",
        "--header",
        f"Authorization: Bearer {admin_key}",
        "--max-response-time",
        "15",  # a hang guard: under the full suite's load one reply took over 5 s
        "--seed",
        "1",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        "--no-color",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    server_log = server.log_path.read_text()
    assert "Traceback" not in server_log, server_log[-4000:]
