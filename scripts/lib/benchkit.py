"""The harness of the benchmarks (`scripts/bench <subcommand>`): a real `helpline serve` in its own
process group, polled until /health/live answers, and users created through the CLI.

``from scripts.lib import benchkit`` (scripts/bench puts the repository on ``sys.path``). Servers
run in their own process group so a benchmark can stop everything it started (and count the
group's CPU), and never leaves one behind. Databases come from :mod:`scripts.lib.services`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HELPLINE = BIN / "helpline"


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own process group, its output appended to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM the process group, then SIGKILL it if it is still there after ``timeout``."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Poll ``url`` until it answers 200; exit with the log if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{url} did not come up:\n" + log.read_text(errors="replace"))
        time.sleep(0.1)


@contextmanager
def serve(
    env: dict[str, str], log: Path, *, port: int | None = None, workers: int = 1
) -> Iterator[Server]:
    """`helpline serve` on 127.0.0.1, ready when this yields; stopped (whole group) afterwards."""
    port = port or free_port()
    command = [str(HELPLINE), "serve", "--port", str(port), "--workers", str(workers)]
    process = start(command, env, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/health/live", process, log)
        yield Server(process=process, base_url=base, log=log)
    finally:
        stop(process)


def cli(env: dict[str, str], *args: str) -> str:
    """Run a `helpline` command with ``env``; its stdout (exit with stderr on failure)."""
    done = subprocess.run([str(HELPLINE), *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"helpline {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def create_user_key(env: dict[str, str], role: str, email: str | None = None) -> str:
    """Create a user through the CLI and return the API key it prints (alone on the last line)."""
    email = email or f"bench-{role}-{uuid.uuid4().hex[:8]}@example.com"
    return cli(env, "users", "create", "--role", role, "--email", email).strip().splitlines()[-1]
