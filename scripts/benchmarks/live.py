"""Benchmark the live stream (GET /api/v1/events/stream): change-to-stream latency and the cost
of an idle stream.

    scripts/bench live                                   # 100 streams, 100 changes/s, 1000 idle
    scripts/bench live --streams 20 --rate 20 --duration 5 --idle 200   # quicker

On a fresh database and a real `helpline serve` (one process, real Redis):

1. latency: --streams agents' streams are open; a writer creates tickets at --rate per second
   for --duration seconds (POST through the same server, --writers connections, open loop: a
   slow answer delays no later write); for every change and every stream,
   latency = the moment the stream delivered the event - the moment the writer had the 201
   (the change was committed). p50/p99 over all (change, stream) pairs, and how many arrived.
2. idle streams: --idle more streams are opened and left idle; the server's resident memory
   (VmRSS of its process) before and after, divided by --idle = memory per idle stream; and
   the database connections the server holds meanwhile (none should be a stream's).

The streams are read by --client-processes processes (plain sockets, no HTTP library: reading
10,000 events/s through httpx in one asyncio loop took a whole core, and the writer sharing that
loop could not keep its rate); the writer runs in the main process. Times are CLOCK_MONOTONIC,
which all processes share. The CPU seconds of the server and of the client processes during the
writing are printed so that a reader can tell which side ran out. A report, not a test: it
never fails a build. On a small machine the client shares the CPU with the server, so the
figures are an upper bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import tempfile
import time
import uuid
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

from scripts.benchmarks.live_client import client_process
from scripts.lib import benchkit
from scripts.lib.live_server import server_env
from scripts.lib.services import (
    LocalServices,
    create_database,
    drop_database,
    redis_url,
    server_url,
)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pid(root: int) -> int:
    """The serving process (the uvicorn worker when there is one, else ``root``)."""
    children = Path(f"/proc/{root}/task/{root}/children")
    kids = children.read_text().split() if children.exists() else []
    return int(kids[-1]) if kids else root


class Clients:
    """``processes`` client processes sharing ``streams`` streams."""

    def __init__(self, base_url: str, key: str, streams: int, processes: int) -> None:
        url = httpx.URL(base_url)
        ctx = mp.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs = []
        self.counts = [(0, 0, 0)] * processes
        self.reasons: dict[str, int] = {}
        for i in range(processes):
            share = streams // processes + (1 if i < streams % processes else 0)
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(
                target=client_process, args=(theirs, url.host, url.port, key, share), daemon=True
            )
            proc.start()
            self.pipes.append(ours)
            self.procs.append(proc)

    def poll(self) -> tuple[int, int, int]:
        """(ready, delivered, failed) over all processes, as last reported."""
        for i, pipe in enumerate(self.pipes):
            while pipe.poll():
                message = pipe.recv()
                if message[0] == "count":
                    self.counts[i] = message[1:4]
                    for reason, n in message[4].items():
                        self.reasons[f"{i}:{reason}"] = n
        return tuple(sum(c[k] for c in self.counts) for k in range(3))  # type: ignore[return-value]

    async def wait(self, done: object, within_s: float) -> bool:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if done(self.poll()):  # type: ignore[operator]
                return True
            await asyncio.sleep(0.1)
        return False

    def mark_cpu(self) -> None:
        for pipe in self.pipes:
            pipe.send("cpu")

    def stop(self) -> tuple[dict[str, list[float]], float]:
        arrivals: dict[str, list[float]] = {}
        cpu = 0.0
        for pipe in self.pipes:
            pipe.send("stop")
        for pipe in self.pipes:
            while True:
                message = pipe.recv()
                if message[0] == "done":
                    for title, times in message[1].items():
                        arrivals.setdefault(title, []).extend(times)
                    cpu += message[2]
                    break
        for proc in self.procs:
            proc.join(10)
        return arrivals, cpu


# the run -----------------------------------------------------------------------------------
async def write_changes(
    base_url: str, key: str, customer_id: str, args: argparse.Namespace
) -> tuple[dict[str, float], float, int]:
    """Create tickets at ``args.rate``/s for ``args.duration`` s: (commit times, s, errors)."""
    limits = httpx.Limits(max_connections=args.writers, max_keepalive_connections=args.writers)
    committed: dict[str, float] = {}
    errors = [0]
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

        async def write(title: str) -> None:
            body = {"title": title, "customer_id": customer_id}
            resp = await client.post("/api/v1/tickets", json=body, headers=headers)
            if resp.status_code == 201:
                committed[title] = time.monotonic()
            else:
                errors[0] += 1

        interval = 1 / args.rate
        pending: set[asyncio.Task[None]] = set()
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < args.duration:
            task = asyncio.create_task(write(f"live-{n}"))
            pending.add(task)
            task.add_done_callback(pending.discard)
            n += 1
            await asyncio.sleep(max(0.0, start + n * interval - time.monotonic()))
        await asyncio.gather(*pending)
        return committed, time.monotonic() - start, errors[0]


async def measure(args: argparse.Namespace, pg: str, url: str, redis: str) -> None:
    logs = Path(tempfile.mkdtemp(prefix="helpline-bench-live-"))
    env = server_env(
        url,
        redis,
        f"helpline-bench-live-{uuid.uuid4().hex[:8]}",
        HELPLINE_ACCESS_LOG="false",
        HELPLINE_DEFAULT_RATE_LIMIT_PER_MINUTE="1000000",
        HELPLINE_DB_POOL_SIZE=str(args.pool_size),
    )
    load = os.getloadavg()
    with benchkit.serve(env, logs / "server.log") as server:
        key = benchkit.create_user_key(env, "agent")
        customer = benchkit.create_user_key(env, "customer")
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
            r = await client.post(
                "/api/v1/tickets",
                json={"title": "probe"},
                headers={"Authorization": f"Bearer {customer}"},
            )
            customer_id = r.json()["customer_id"]
        pid = server_pid(server.pid)

        clients = Clients(server.base_url, key, args.streams, args.client_processes)
        await clients.wait(lambda c: c[0] + c[2] >= args.streams, 120)
        streams = clients.poll()[0]  # measured over those that opened (printed)
        clients.mark_cpu()
        server_cpu = cpu_s(pid)
        committed, elapsed, errors = await write_changes(server.base_url, key, customer_id, args)
        server_cpu = cpu_s(pid) - server_cpu
        expected = len(committed) * streams
        await clients.wait(lambda c: c[1] >= expected, 15)  # let the streams drain (bounded)
        arrivals, client_cpu = clients.stop()
        latencies = sorted(
            (at - committed[t]) * 1000 for t in committed for at in arrivals.get(t, [])
        )
        delivered = sum(len(arrivals.get(t, [])) for t in committed)

        await asyncio.sleep(1)
        before = rss_kib(pid)
        idle = Clients(server.base_url, key, args.idle, args.client_processes)
        await idle.wait(lambda c: c[0] + c[2] >= args.idle, args.idle_timeout)
        await asyncio.sleep(2)
        idle_ready, _, idle_failed = idle.poll()
        after = rss_kib(pid)
        open_fds = len(os.listdir(f"/proc/{pid}/fd"))
        db_conns = await count_connections(pg, url)
        idle.stop()

    report = {
        "load_average_at_start": [round(x, 2) for x in load],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "streams": args.streams,
        "streams_open": streams,
        "client_processes": args.client_processes,
        "writers": args.writers,
        "pool_size": args.pool_size,
        "rate_per_s": args.rate,
        "changes": len(committed),
        "write_errors": errors,
        "achieved_rate_per_s": round(len(committed) / elapsed, 1),
        "deliveries": delivered,
        "expected_deliveries": expected,
        "latency_ms_p50": round(statistics.median(latencies), 1) if latencies else None,
        "latency_ms_p99": round(latencies[int(len(latencies) * 0.99) - 1], 1)
        if latencies
        else None,
        "server_cpu_s_while_writing": round(server_cpu, 2),
        "client_cpu_s_while_writing": round(client_cpu, 2),
        "writing_s": round(elapsed, 2),
        "idle_streams_open": idle_ready,
        "idle_streams_failed": idle_failed,
        "idle_failures": idle.reasons,
        "server_open_fds_with_idle": open_fds,
        "rss_kib_before_idle": before,
        "rss_kib_with_idle": after,
        "kib_per_idle_stream": round((after - before) / max(1, idle_ready), 1),
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
    parser.add_argument(
        "--writers", type=int, default=32, help="writer connections (>= rate x write latency)"
    )
    parser.add_argument("--pool-size", type=int, default=20, help="the server's database pool")
    parser.add_argument(
        "--client-processes", type=int, default=2, help="processes reading the streams"
    )
    parser.add_argument("--idle", type=int, default=1000, help="idle streams for the memory figure")
    parser.add_argument(
        "--idle-timeout", type=float, default=300, help="seconds allowed to open the idle streams"
    )
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
