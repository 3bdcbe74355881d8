"""Plumbing shared by the HTTP benchmark scripts: processes, wrk, CPU accounting, id pools.

Used by `scripts/bench http` and `scripts/bench cache`. Runs in the project's .venv; nothing here
is part of the service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
HELPLINE = REPO / ".venv" / "bin" / "helpline"
HELPERS = Path(__file__).resolve().parent / "apps"  # uvicorn apps and the wrk script
SEARCH_WORD = "refund"  # in the seeded titles "Refund request for order #…"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def say(args: argparse.Namespace, message: str) -> None:
    print(message, file=sys.stderr if args.json else sys.stdout, flush=True)


# processes -------------------------------------------------------------------------------------
def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(  # own process group: stopped as one with its workers
            command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"bench: server exited early:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    sys.exit(f"bench: {url} not ready after {timeout:.0f} s:\n{log.read_text()[-2000:]}")


def uvicorn_command(module: str, port: int, workers: int) -> list[str]:
    """A helper app under uvicorn with the service's settings (uvloop, httptools, no log)."""
    return [
        str(VENV_PYTHON), "-m", "uvicorn", "--app-dir", str(HELPERS), module,
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


# wrk -------------------------------------------------------------------------------------------
def ensure_wrk(name: str = "bench") -> None:
    """wrk on PATH, installed by scripts/lib/bench-deps.sh (apt-get, as root) when missing."""
    if shutil.which("wrk") is not None:
        return
    done = subprocess.run([str(REPO / "scripts" / "lib" / "bench-deps.sh")], check=False)
    if done.returncode != 0 or shutil.which("wrk") is None:
        sys.exit(f"{name}: wrk is not installed (Debian/Ubuntu: `apt-get install -y wrk`)")


def run_wrk(
    args: argparse.Namespace,
    url: str,
    scenario: Any,
    pool_file: Path | None,
    token: str,
    seconds: int,
) -> dict[str, float]:
    """One wrk run of scenario.lua; returns its BENCH_JSON summary."""
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "5s",
        "-s", str(HELPERS / "scenario.lua"), url, "--", scenario.mode,
    ]  # fmt: skip
    if pool_file is not None:
        command += [str(pool_file), getattr(scenario, "order", "random")]
    env = dict(os.environ, BENCH_TOKEN=token, BENCH_THREADS=str(args.threads))
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            parsed: dict[str, float] = json.loads(line.removeprefix("BENCH_JSON "))
            return parsed
    sys.exit(f"bench: wrk failed for {scenario.name}:\n{done.stdout}\n{done.stderr}")


def wrk_errors(raw: dict[str, float]) -> int:
    keys = ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts")
    return sum(int(raw[k]) for k in keys)


# CPU accounting --------------------------------------------------------------------------------
def cpu_seconds(pids: set[int]) -> dict[int, float]:
    """utime + stime of each live process (Linux /proc; empty elsewhere)."""
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return out


def group_pids(pgid: int) -> set[int]:
    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[2]) == pgid:
                pids.add(int(entry))
    return pids


async def connect(database_url: str) -> Any:
    import asyncpg

    from helpline.seed.loader import connect_kwargs

    return await asyncpg.connect(**connect_kwargs(database_url))


async def _backend_pids(database_url: str, application: str = "helpline") -> set[int]:
    conn = await connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 "
            "AND datname = current_database()",
            application,
        )
        return {r[0] for r in rows}
    finally:
        await conn.close()


def cpu_snapshot(
    args: argparse.Namespace, server_pgid: int, local_db: bool, application: str = "helpline"
) -> dict[str, Any]:
    backends = asyncio.run(_backend_pids(args.database_url, application)) if local_db else set()
    return {"server": cpu_seconds(group_pids(server_pgid)), "db": cpu_seconds(backends)}


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def is_local(database_url: str) -> bool:
    from urllib.parse import parse_qsl, urlsplit

    parts = urlsplit(database_url)
    host = parts.hostname or dict(parse_qsl(parts.query)).get("host", "")
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("/")


# id pools --------------------------------------------------------------------------------------
async def fetch_pools(database_url: str, cold: int = 0) -> dict[str, list[str]]:
    """Ids for the scenarios, sampled across the whole table (not just the newest rows).

    `cold`: also sample that many ticket ids (shuffled) for reads that must miss the cache."""
    conn = await connect(database_url)
    try:
        queries = {
            "tickets": "SELECT id::text FROM tickets TABLESAMPLE SYSTEM (1) "
            "WHERE deleted_at IS NULL LIMIT 5000",
            "open_tickets": "SELECT id::text FROM tickets WHERE deleted_at IS NULL "
            "AND status <> 'closed' ORDER BY random() LIMIT 2000",
            "customers": "SELECT id::text FROM users WHERE role = 'customer' AND is_active "
            "ORDER BY random() LIMIT 2000",
        }
        pools = {}
        for name, sql in queries.items():
            pools[name] = [r[0] for r in await conn.fetch(sql)]
        if len(pools["tickets"]) < 2000:  # small databases: TABLESAMPLE (1) finds too few
            pools["tickets"] = [
                r[0]
                for r in await conn.fetch(
                    "SELECT id::text FROM tickets WHERE deleted_at IS NULL "
                    "ORDER BY random() LIMIT 5000"
                )
            ]
        total = await conn.fetchval("SELECT count(*) FROM tickets")
        if cold:
            percent = min(100.0, 100.0 * cold * 1.5 / max(total, 1))
            rows = await conn.fetch(
                f"SELECT id::text FROM tickets TABLESAMPLE SYSTEM ({percent:.4f}) "
                "WHERE deleted_at IS NULL LIMIT $1",
                cold,
            )
            pools["cold"] = [r[0] for r in rows]
            random.shuffle(pools["cold"])  # block order would favour PostgreSQL's buffer cache
        pools["search_hits"] = [
            str(
                await conn.fetchval(
                    "SELECT count(*) FROM tickets WHERE deleted_at IS NULL AND search_vector "
                    "@@ websearch_to_tsquery('english', $1)",
                    SEARCH_WORD,
                )
            )
        ]
        pools["tickets_total"] = [str(total)]
        return pools
    finally:
        await conn.close()


def split_pool(ids: list[str], parts: int, least: int = 1000) -> list[list[str]]:
    """Disjoint slices, one per run that must not reuse another run's ids (or all of them)."""
    if len(ids) < parts * least:
        return [ids] * parts
    return [ids[i::parts] for i in range(parts)]


# service side ----------------------------------------------------------------------------------
def cache_counters(base: str, token: str) -> dict[str, float]:
    """helpline_cache_requests_total from /metrics (per process; admin key)."""
    request = urllib.request.Request(
        f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            text = response.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return {}
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("helpline_cache_requests_total{"):
            labels, value = line.removeprefix("helpline_cache_requests_total").rsplit(" ", 1)
            out[labels] = float(value)
    return out


def floor_counters(base: str) -> dict[str, float]:
    """The floor app's body-cache hits and misses (per process), in cache_counters' shape."""
    try:
        with urllib.request.urlopen(f"{base}/floor/stats", timeout=5) as response:
            counts = json.loads(response.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return {}
    return {f'{{cache="ticket",result="{k}"}}': float(v) for k, v in counts.items()}


def hit_ratio(before: dict[str, float], after: dict[str, float], cache: str) -> float | None:
    def delta(result: str) -> float:
        key = f'{{cache="{cache}",result="{result}"}}'
        return after.get(key, 0.0) - before.get(key, 0.0)

    total = sum(delta(r) for r in ("hit", "miss", "error", "bypass"))
    return round(delta("hit") / total, 3) if total else None


async def _warm(urls: list[str], token: str, concurrency: int) -> int:
    import httpx

    failures = 0
    queue = iter(urls)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=headers, timeout=10) as client:

        async def worker() -> None:
            nonlocal failures
            for url in queue:
                if (await client.get(url)).status_code != 200:
                    failures += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return failures


def warm(urls: list[str], token: str, concurrency: int = 16) -> int:
    """GET every url once (fills the caches); returns the number of non-200 answers."""
    return asyncio.run(_warm(urls, token, concurrency))
