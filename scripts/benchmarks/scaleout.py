"""Benchmark the scale-out pieces on this machine and print figures (a report, not a test).

Usage:  scripts/bench scaleout [--duration 8] [--connections 16] [--tickets 300] [--json]

Starts its own engines (scripts/lib/scaleout.py: a private PostgreSQL primary, a streaming
replica, PgBouncer in transaction pooling; Redis at HELPLINE_BENCH_REDIS_URL or 127.0.0.1:6379)
and measures, with the ticket cache OFF so that every read is a database read:

1. API read throughput (wrk, GET /api/v1/tickets/{id}):
   a. 1 `helpline serve` process straight on the primary;
   b. 1 process through PgBouncer (HELPLINE_DATABASE_PGBOUNCER: no statement cache);
   c. 2 processes through PgBouncer, replica configured, one wrk per process at the same time
      (what a load balancer does), summed. Until the read router is wired into the request path
      these reads still go to the primary: the figure shows process scale-out, not the replica.
2. The read router (kit/replicas.py) in one process, same query, same concurrency: reads/s on
   the primary vs routed to the replica.
3. Read-your-writes cost: ReadRouter.choose() with a principal (one Redis GET) vs without, and
   record_write() after a commit (one primary statement + one Redis script), in µs per call.

On a 2-core machine primary, replica, servers and wrk share the same cores: the figures show the
overhead and the shape, not the capacity of a real multi-host deployment (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from helpline.config import Environment, Settings
from helpline.db import make_engine
from helpline.runtime import make_read_router, make_redis
from scripts.benchmarks.common import ensure_wrk
from scripts.lib.live_server import live_server, server_env
from scripts.lib.scaleout import (
    PgBouncer,
    PostgresCluster,
    replayed,
    scratch_dir,
)
from scripts.lib.services import create_database

WRK_SCRIPT = """
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
local token = os.getenv("BENCH_TOKEN")
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/tickets/" .. ids[(n % #ids) + 1],
                    {["Authorization"] = "Bearer " .. token})
end
"""


def say(message: str) -> None:
    print(f"bench scaleout: {message}", file=sys.stderr)


def wrk(base_url: str, args: argparse.Namespace, script: Path, env: dict[str, str]) -> float:
    done = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{args.connections}",
            f"-d{args.duration}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            base_url,
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )
    match = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    if not match or errors:
        sys.exit(f"bench scaleout: wrk failed:\n{done.stdout}\n{done.stderr}")
    return float(match.group(1))


def api_figures(
    args: argparse.Namespace,
    work: Path,
    primary: PostgresCluster,
    replica: PostgresCluster,
    bouncer: PgBouncer,
    database: str,
    redis: str,
) -> dict[str, float]:
    prefix = f"helpline-bench-{uuid.uuid4().hex[:8]}"
    direct = server_env(
        primary.url_for(database),
        redis,
        prefix,
        HELPLINE_CACHE_ENABLED="false",
        HELPLINE_ACCESS_LOG="false",
        HELPLINE_DEFAULT_RATE_LIMIT_PER_MINUTE="100000000",
    )
    scaled = {
        **direct,
        "HELPLINE_DATABASE_URL": bouncer.url_for(database),
        "HELPLINE_DATABASE_PGBOUNCER": "true",
        "HELPLINE_DATABASE_REPLICA_URLS": replica.url_for(database),
    }
    with live_server(direct, work / "one.log") as one:
        token, customer = (
            one.cli("users", "create", "--role", role, "--email", f"{role}-{uuid.uuid4().hex}@x.io")
            .strip()
            .splitlines()[-1]
            for role in ("agent", "customer")
        )
        ids = []
        with httpx.Client(base_url=one.base_url, timeout=30) as http:
            for n in range(args.tickets):
                r = http.post(
                    "/api/v1/tickets",
                    json={"title": f"bench {n}"},
                    headers={"Authorization": f"Bearer {customer}"},
                )
                r.raise_for_status()
                ids.append(r.json()["id"])
        (work / "ids").write_text("\n".join(ids) + "\n")
        script = work / "get.lua"
        script.write_text(WRK_SCRIPT)
        env = {"BENCH_IDS": str(work / "ids"), "BENCH_TOKEN": token}
        say("1 process on the primary")
        wrk(one.base_url, argparse.Namespace(**{**vars(args), "duration": 2}), script, env)
        single = wrk(one.base_url, args, script, env)
    with live_server(scaled, work / "a.log") as a, live_server(scaled, work / "b.log") as b:
        say("2 processes through PgBouncer (replica configured)")
        for server in (a, b):
            wrk(server.base_url, argparse.Namespace(**{**vars(args), "duration": 2}), script, env)
        say("1 process through PgBouncer (the cost of transaction pooling mode)")
        one_bounced = wrk(a.base_url, args, script, env)
        results: list[float] = []

        def run(base: str) -> None:
            results.append(wrk(base, args, script, env))

        import threading

        threads = [threading.Thread(target=run, args=(s.base_url,)) for s in (a, b)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return {
        "api_1_process_primary_rps": single,
        "api_1_process_pgbouncer_rps": one_bounced,
        "api_2_processes_pgbouncer_rps": sum(results),
    }


async def router_figures(
    args: argparse.Namespace,
    primary: PostgresCluster,
    replica: PostgresCluster,
    database: str,
    redis_url: str,
) -> dict[str, float]:
    settings = Settings(
        env=Environment.test,
        database_url=primary.url_for(database),
        database_replica_urls=[replica.url_for(database)],
        redis_url=redis_url,
        redis_key_prefix=f"helpline-bench-{uuid.uuid4().hex[:8]}",
        db_pool_size=args.connections,
    )
    engine = make_engine(primary.url_for(database), settings)
    redis = make_redis(settings)
    router = make_read_router(settings, engine, redis)
    await router.start()
    ids = [r[0] for r in (await _fetch(engine, "SELECT id FROM tickets LIMIT 500"))]

    async def read(session: Any, n: int) -> Any:
        query = text("SELECT id, title, status, version FROM tickets WHERE id = :id")
        return (await session.execute(query, {"id": ids[n % len(ids)]})).first()

    async def throughput(principal: str | None, force_primary: bool) -> float:
        count = 0
        deadline = time.perf_counter() + args.duration

        async def worker(w: int) -> None:
            nonlocal count
            n = w
            while time.perf_counter() < deadline:
                if force_primary:
                    await router._run(engine, lambda s, n=n: read(s, n))
                else:
                    await router.run_read(principal, lambda s, n=n: read(s, n))
                count += 1
                n += args.connections

        start = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(args.connections)))
        return count / (time.perf_counter() - start)

    figures: dict[str, float] = {}
    say("router: reads on the primary")
    figures["router_primary_reads_per_s"] = await throughput(None, force_primary=True)
    say("router: reads routed to the replica")
    assert (await router.choose(None)).reason == "replica"
    figures["router_replica_reads_per_s"] = await throughput(None, force_primary=False)

    say("read-your-writes cost")
    await router.record_write("user:bench")
    await replayed(replica.url, primary.url)
    await router.refresh()
    assert (await router.choose("user:bench")).reason == "replica"
    calls = 2000
    for label, principal in (
        ("choose_without_principal_us", None),
        ("choose_with_principal_us", "user:bench"),
    ):
        start = time.perf_counter()
        for _ in range(calls):
            await router.choose(principal)
        figures[label] = (time.perf_counter() - start) / calls * 1e6
    figures["ryw_check_cost_us"] = (
        figures["choose_with_principal_us"] - figures["choose_without_principal_us"]
    )
    start = time.perf_counter()
    for _ in range(500):
        await router.record_write("user:bench")
    figures["record_write_us"] = (time.perf_counter() - start) / 500 * 1e6
    await redis.delete(router.marker_key("user:bench"))
    await router.stop()
    await redis.aclose()
    await engine.dispose()
    return figures


async def _fetch(engine: Any, sql: str) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql))).all())


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="Seconds per measurement.")
    parser.add_argument("--connections", type=int, default=16, help="Concurrent clients.")
    parser.add_argument("--tickets", type=int, default=300, help="Tickets to read from.")
    parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    args = parser.parse_args(argv)
    ensure_wrk("bench scaleout")
    redis = os.environ.get("HELPLINE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    work = scratch_dir("helpline-bench-scaleout-")
    logs = Path(tempfile.mkdtemp(prefix="helpline-bench-logs-"))
    primary = replica = bouncer = None
    try:
        say("starting primary, replica, PgBouncer")
        primary = PostgresCluster.primary(work / "primary")
        replica = primary.replica(work / "replica")
        bouncer = PgBouncer(work / "pgbouncer", primary.port, pool_size=20)
        bouncer.start()
        database = create_database(primary.url, prefix="helpline_bench").rsplit("/", 1)[1]
        figures = api_figures(args, logs, primary, replica, bouncer, database, redis)
        asyncio.run(replayed(replica.url, primary.url))
        figures |= asyncio.run(router_figures(args, primary, replica, database, redis))
    finally:
        if bouncer is not None:
            bouncer.stop()
        for cluster in (replica, primary):
            if cluster is not None:
                cluster.stop("immediate")
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(logs, ignore_errors=True)
    meta = {"duration_s": args.duration, "connections": args.connections, "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps({"meta": meta, "figures": figures}, indent=2))
        return
    print(f"scale-out figures ({meta})")
    for name, value in figures.items():
        print(f"  {name:<34} {value:>12.1f}")
