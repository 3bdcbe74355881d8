"""Benchmark the live stream (GET /api/v1/events/stream): change-to-stream latency and the cost
of an idle stream.

    scripts/bench live                                   # 100 streams, 100 changes/s, 1000 idle
    scripts/bench live --streams 20 --rate 20 --duration 5 --idle 200   # quicker

On a fresh database and a real `helpline serve` (one process, real Redis):

1. latency: --streams agents' streams are open; a writer creates tickets at --rate per second
   for --duration seconds (POST through the same server); for every change and every stream,
   latency = the moment the stream delivered the event - the moment the writer had the 201
   (the change was committed). p50/p99 over all (change, stream) pairs, and how many arrived.
2. idle streams: --idle more streams are opened and left idle; the server's resident memory
   (VmRSS of its process) before and after, divided by --idle = memory per idle stream; and
   the database connections the server holds meanwhile (none should be a stream's).

A report, not a test: it never fails a build. The client runs in this process (one asyncio
loop); on a small machine it shares the CPU with the server, so the figures are an upper bound.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from scripts.lib import benchkit
from scripts.lib.live_server import server_env
from scripts.lib.services import (
    LocalServices,
    create_database,
    drop_database,
    redis_url,
    server_url,
)

STREAM = "/api/v1/events/stream"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def server_pid(root: int) -> int:
    """The serving process (the uvicorn worker when there is one, else ``root``)."""
    children = Path(f"/proc/{root}/task/{root}/children")
    kids = children.read_text().split() if children.exists() else []
    return int(kids[-1]) if kids else root


async def consume(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    arrivals: dict[str, list[float]],
    opened: asyncio.Event | None,
    ready: list[int],
    total: int,
) -> None:
    async with client.stream("GET", STREAM, headers=headers) as r:
        async for line in r.aiter_lines():
            if line.startswith("event: ready"):
                ready.append(1)
                if opened is not None and len(ready) >= total:
                    opened.set()
            elif line.startswith('data: {"id"'):
                now = time.monotonic()
                event = json.loads(line[6:])
                title = event.get("data", {}).get("title")
                if title:
                    arrivals.setdefault(title, []).append(now)


async def measure(args: argparse.Namespace, pg: str, url: str, redis: str) -> None:
    logs = Path(tempfile.mkdtemp(prefix="helpline-bench-live-"))
    env = server_env(
        url,
        redis,
        f"helpline-bench-live-{uuid.uuid4().hex[:8]}",
        HELPLINE_ACCESS_LOG="false",
        HELPLINE_DEFAULT_RATE_LIMIT_PER_MINUTE="1000000",
        HELPLINE_DB_POOL_SIZE="10",
    )
    with benchkit.serve(env, logs / "server.log") as server:
        key = benchkit.create_user_key(env, "agent")
        headers = {"Authorization": f"Bearer {key}"}
        customer = benchkit.create_user_key(env, "customer")
        limits = httpx.Limits(max_connections=args.streams + args.idle + 20)
        timeout = httpx.Timeout(60, connect=30)
        async with httpx.AsyncClient(
            base_url=server.base_url, limits=limits, timeout=timeout
        ) as client:
            r = await client.post(
                "/api/v1/tickets",
                json={"title": "probe"},
                headers={"Authorization": f"Bearer {customer}"},
            )
            customer_id = r.json()["customer_id"]
            arrivals: dict[str, list[float]] = {}
            opened = asyncio.Event()
            ready: list[int] = []
            streams = [
                asyncio.create_task(consume(client, headers, arrivals, opened, ready, args.streams))
                for _ in range(args.streams)
            ]
            await asyncio.wait_for(opened.wait(), 120)
            committed: dict[str, float] = {}
            interval = 1 / args.rate
            start = time.monotonic()
            n = 0
            pending: set[asyncio.Task[None]] = set()

            async def write(title: str) -> None:
                resp = await client.post(
                    "/api/v1/tickets",
                    json={"title": title, "customer_id": customer_id},
                    headers=headers,
                )
                if resp.status_code == 201:
                    committed[title] = time.monotonic()

            while time.monotonic() - start < args.duration:
                title = f"live-{n}"
                task = asyncio.create_task(write(title))
                pending.add(task)
                task.add_done_callback(pending.discard)
                n += 1
                await asyncio.sleep(max(0.0, start + n * interval - time.monotonic()))
            await asyncio.gather(*pending)
            elapsed = time.monotonic() - start
            # Let the streams drain (bounded), then stop them.
            deadline = time.monotonic() + 15
            while (  # noqa: ASYNC110 - a bounded drain, not a wait for one event
                time.monotonic() < deadline
                and sum(len(arrivals.get(t, [])) for t in committed) < len(committed) * args.streams
            ):
                await asyncio.sleep(0.1)
            latencies = [
                (at - committed[t]) * 1000
                for t in committed
                for at in arrivals.get(t, [])
                if at >= committed[t] - 1
            ]
            delivered = sum(len(arrivals.get(t, [])) for t in committed)
            for task in streams:
                task.cancel()
            await asyncio.gather(*streams, return_exceptions=True)

            pid = server_pid(server.pid)
            await asyncio.sleep(1)
            before = rss_kib(pid)
            idle_ready: list[int] = []
            idle_open = asyncio.Event()
            idle = [
                asyncio.create_task(consume(client, headers, {}, idle_open, idle_ready, args.idle))
                for _ in range(args.idle)
            ]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(idle_open.wait(), 300)
            await asyncio.sleep(2)
            after = rss_kib(pid)
            db_conns = await count_connections(pg, url)
            for task in idle:
                task.cancel()
            await asyncio.gather(*idle, return_exceptions=True)

    p = sorted(latencies)
    report = {
        "streams": args.streams,
        "rate_per_s": args.rate,
        "changes": len(committed),
        "achieved_rate_per_s": round(len(committed) / elapsed, 1),
        "deliveries": delivered,
        "expected_deliveries": len(committed) * args.streams,
        "latency_ms_p50": round(statistics.median(p), 1) if p else None,
        "latency_ms_p99": round(p[int(len(p) * 0.99) - 1], 1) if p else None,
        "idle_streams_open": len(idle_ready),
        "rss_kib_before_idle": before,
        "rss_kib_with_idle": after,
        "kib_per_idle_stream": round((after - before) / max(1, len(idle_ready)), 1),
        "server_db_connections_while_idle": db_conns,
    }
    print(json.dumps(report, indent=2))


async def count_connections(pg: str, url: str) -> int:
    import asyncpg
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    u = make_url(pg)
    conn = await asyncpg.connect(
        user=u.username, password=u.password, host=u.host, port=u.port, database=u.database
    )
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1"
                " AND application_name = 'helpline'",
                name,
            )
        )
    finally:
        await conn.close()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=100, help="open streams measured")
    parser.add_argument("--rate", type=float, default=100, help="changes per second")
    parser.add_argument("--duration", type=float, default=10, help="seconds of writing")
    parser.add_argument("--idle", type=int, default=1000, help="idle streams for the memory figure")
    args = parser.parse_args(argv)
    services = LocalServices()
    pg = server_url(services)
    redis = redis_url(services)
    if not redis:
        raise SystemExit("the live benchmark needs a Redis (HELPLINE_TEST_REDIS_URL)")
    url = create_database(pg)  # its own event loop: before ours
    try:
        asyncio.run(measure(args, pg, url, redis))
    finally:
        drop_database(pg, url)
