"""The embedded development PostgreSQL stops with the last Helpline process that uses it.

A real ``helpline serve`` in its own process group, as a terminal runs ``scripts/dev``: SIGTERM to
the group (a closed terminal, a process manager) or SIGINT (Ctrl-C) must not leave a ``postgres``
running from ``var/postgres``; a second start reuses the data.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scripts.lib.live_server import free_port

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


def postmaster(data_dir: Path) -> int | None:
    """The pid of the server running from ``data_dir``, if one is."""
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().splitlines()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def wait_until(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)  # polling subprocesses


def live(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def dev_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPLINE_")}
    env.update(HELPLINE_ENV="development", HELPLINE_VAR_DIR=str(tmp_path / "var"))
    env["HELPLINE_CONFIG_DIR"] = str(tmp_path / "no-profiles")  # no config/development.env
    yield env
    leftover = postmaster(tmp_path / "var" / "postgres")
    if leftover is not None:  # a failed test must not leave a server behind
        os.kill(leftover, signal.SIGTERM)


def start_serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [str(BIN / "helpline"), "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as under a terminal
        )
    wait_until(lambda: live(port) or proc.poll() is not None, "the server")
    assert proc.poll() is None, log.read_text()
    return proc, port


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "helpline"), *args], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


class TestEmbeddedPostgresLifetime:
    def test_stops_with_the_last_process_and_restarts_on_the_same_data(
        self, dev_env: dict[str, str], tmp_path: Path
    ):
        data_dir = tmp_path / "var" / "postgres"
        log = tmp_path / "serve.log"
        proc, _port = start_serve(dev_env, log)
        try:
            assert postmaster(data_dir) is not None
            head = cli(dev_env, "db", "current")  # another process comes and goes…
            assert postmaster(data_dir) is not None  # …the server keeps serving the first
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        wait_until(lambda: postmaster(data_dir) is None, "postgres to stop after SIGTERM", 15)

        proc, _port = start_serve(dev_env, log)  # Ctrl-C this time
        try:
            assert postmaster(data_dir) is not None
            assert cli(dev_env, "db", "current") == head  # the same, migrated data
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        wait_until(lambda: postmaster(data_dir) is None, "postgres to stop after Ctrl-C", 15)

    def test_db_stop_stops_a_server_left_behind(self, dev_env: dict[str, str], tmp_path: Path):
        data_dir = tmp_path / "var" / "postgres"
        proc, _port = start_serve(dev_env, tmp_path / "serve.log")
        os.killpg(proc.pid, signal.SIGKILL)  # no chance to clean up
        proc.wait(timeout=30)
        assert postmaster(data_dir) is not None
        out = cli(dev_env, "db", "stop")
        assert "stopped" in out
        assert postmaster(data_dir) is None
        assert "not running" in cli(dev_env, "db", "stop")
