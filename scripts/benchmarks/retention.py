"""What time partitioning would buy the change feed (ADR 0015): the worker's retention purge as
DELETE (today) against dropping partitions, and what partitions cost the feed's page read.

    scripts/bench retention                      # 1,000,000 events over 100 days, purge 10 days
    scripts/bench retention --events 200000      # quicker

On a throwaway database migrated to head, the same synthetic events (a `ticket.updated` with
its changes: the size of a real feed row, ~480 bytes) go into two tables:

- `events` itself (plain, as today), --events rows spread evenly over --days days;
- `events_by_range`: the same columns and indexes, range-partitioned by `occurred_at` in
  partitions of --purge-days days.

Then, on one connection, for each table: the purge of the oldest --purge-days days (today's
statement from events/repository.py, 10,000 rows per statement, then the VACUUM it leaves
behind; against DETACH + DROP of that partition) — wall time, the backend's CPU (from /proc:
server and benchmark share this machine), WAL written; and a feed page (`(xid, id) > cursor ORDER
BY xid, id LIMIT 100`) at the feed's start, middle and end, p50 over --reads reads each.
With --seeded URL (repeatable: seeded databases of several sizes), it measures instead the
reads partitioning by time could not prune: a ticket's thread and a history page, by random
ticket ids, p50/p99 over --reads tickets, and the sizes of `conversations` and its indexes.
A report, not a test: nothing here fails a build.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

from scripts.lib.services import create_database, drop_database

PURGE = (
    "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE occurred_at < $1"
    " ORDER BY id LIMIT $2)"
)
PAGE = "SELECT * FROM {table} WHERE (xid, id) > ($1, $2) ORDER BY xid, id LIMIT 100"
DATA = (
    '{"changes": {"status": {"from": "open", "to": "pending"}, "priority": {"from": "normal",'
    ' "to": "high"}}, "title": "Cannot sign in after the password reset on the mobile app",'
    ' "status": "pending", "priority": "high", "assigned_to": "5f0c6a57-3c55-4a59-9d57-'
    '0b8f3f3b2a11", "version": 7, "customer_id": "8c1f0a4e-0d6d-4f0a-9d8e-6a1f3b2c4d5e"}'
)


def backend_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measured(
    conn: asyncpg.Connection, pid: int, work: Callable[[], Awaitable[Any]]
) -> tuple[float, float, int]:
    """(wall s, backend CPU s, WAL bytes) of ``work``."""
    lsn = await conn.fetchval("SELECT pg_current_wal_insert_lsn()")
    cpu = backend_cpu_s(pid)
    started = time.perf_counter()
    await work()
    wall = time.perf_counter() - started
    cpu = backend_cpu_s(pid) - cpu
    wal = await conn.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1)", lsn)
    return wall, cpu, int(wal)


async def fill(conn: asyncpg.Connection, table: str, events: int, days: int) -> None:
    # Evenly over `days` days ending now; xid rises with id as in a real feed.
    await conn.execute(
        f"INSERT INTO {table} (xid, occurred_at, type, ticket_id, internal, actor_id,"
        " request_id, data) SELECT 1000 + n / 3, now() - make_interval(secs => ($2 - n) *"
        " ($3 * 86400.0 / $2)), 'ticket.updated', gen_random_uuid(), false,"
        " gen_random_uuid(), 'req-' || n, $1::jsonb FROM generate_series(1, $2) AS n",
        DATA,
        events,
        days,
    )
    await conn.execute(f"ANALYZE {table}")


async def partitioned(conn: asyncpg.Connection, days: int, width: int) -> list[str]:
    """`events_by_range`: like `events`, one partition per ``width`` days; their names, oldest
    first."""
    await conn.execute(
        "CREATE TABLE events_by_range (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
        " INCLUDING IDENTITY) PARTITION BY RANGE (occurred_at)"
    )
    await conn.execute("ALTER TABLE events_by_range ADD PRIMARY KEY (id, occurred_at)")
    await conn.execute("CREATE INDEX ON events_by_range (xid, id)")
    names = []
    for k in range(0, days + width, width):
        name = f"events_by_range_{k:04d}"
        await conn.execute(
            f"CREATE TABLE {name} PARTITION OF events_by_range FOR VALUES FROM"
            f" (date_trunc('day', now()) - interval '{days - k + 1} days')"
            f" TO (date_trunc('day', now()) - interval '{days - k - width + 1} days')"
        )
        names.append(name)
    await conn.execute("CREATE TABLE events_by_range_later PARTITION OF events_by_range DEFAULT")
    return names


async def page_ms(conn: asyncpg.Connection, table: str, reads: int) -> dict[str, float]:
    bounds = await conn.fetchrow(f"SELECT min(xid) lo, max(xid) hi FROM {table}")
    out = {}
    for label, xid in (
        ("start", bounds["lo"]),
        ("middle", (bounds["lo"] + bounds["hi"]) // 2),
        ("end", bounds["hi"] - 40),
    ):
        statement = await conn.prepare(PAGE.format(table=table))
        times = []
        for _ in range(reads):
            started = time.perf_counter()
            await statement.fetch(xid, 0)
            times.append((time.perf_counter() - started) * 1000)
        out[label] = statistics.median(times)
    return out


async def run(url: str, args: argparse.Namespace) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        await conn.execute("ALTER TABLE events DISABLE TRIGGER USER")
        names = await partitioned(conn, args.days, args.purge_days)
        for table in ("events", "events_by_range"):
            started = time.perf_counter()
            await fill(conn, table, args.events, args.days)
            print(f"{table}: {args.events:,} events in {time.perf_counter() - started:.1f} s")
        await conn.execute("VACUUM (ANALYZE) events")
        await conn.execute("VACUUM (ANALYZE) events_by_range")
        before = await conn.fetchval(
            "SELECT date_trunc('day', now()) - make_interval(days => $1)",
            args.days - args.purge_days + 1,
        )
        doomed = await conn.fetchval("SELECT count(*) FROM events WHERE occurred_at < $1", before)
        sizes = {
            t: await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size($1))", t)
            for t in ("events",)
        }
        reads = {t: await page_ms(conn, t, args.reads) for t in ("events", "events_by_range")}

        async def delete() -> None:
            while True:
                status = await conn.execute(PURGE.format(table="events"), before, 10_000)
                if int(status.split()[-1]) < 10_000:
                    return

        async def vacuum() -> None:
            await conn.execute("VACUUM events")

        async def drop() -> None:
            async with conn.transaction():
                await conn.execute(f"ALTER TABLE events_by_range DETACH PARTITION {names[0]}")
                await conn.execute(f"DROP TABLE {names[0]}")

        rows = [
            ("DELETE, 10,000 per statement", await measured(conn, pid, delete)),
            ("VACUUM after the DELETE", await measured(conn, pid, vacuum)),
            ("DETACH + DROP the partition", await measured(conn, pid, drop)),
        ]
    finally:
        await conn.close()

    print(
        f"\npurge of the oldest {args.purge_days} days: {doomed:,} events"
        f" (events table {sizes['events']} before)"
    )
    print(f"{'':32} {'wall s':>8} {'CPU s':>8} {'WAL MB':>8} {'µs CPU/row':>11}")
    for label, (wall, cpu, wal) in rows:
        print(
            f"{label:32} {wall:8.2f} {cpu:8.2f} {wal / 1e6:8.1f} {cpu * 1e6 / max(doomed, 1):11.1f}"
        )
    print(f"\nfeed page of 100 (p50 of {args.reads} reads, ms)")
    print(f"{'':18} {'start':>8} {'middle':>8} {'end':>8}")
    for table, values in reads.items():
        print(f"{table:18} " + " ".join(f"{values[k]:8.2f}" for k in ("start", "middle", "end")))
    print(
        f"\ncommand: scripts/bench retention --events {args.events} --days {args.days}"
        f" --purge-days {args.purge_days}; load average {os.getloadavg()[0]:.1f}"
    )


async def thread_reads(url: str, reads: int) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        ids = [
            r[0]
            for r in await conn.fetch(
                "SELECT id FROM tickets TABLESAMPLE SYSTEM (1) LIMIT $1", reads
            )
        ]
        messages = await conn.fetchval(
            "SELECT reltuples::bigint FROM pg_class WHERE relname = 'conversations'"
        )
        name = await conn.fetchval("SELECT current_database()")
        for label, sql in (
            ("thread", "SELECT * FROM conversations WHERE ticket_id = $1 ORDER BY timestamp, id"),
            ("history page", "SELECT * FROM ticket_history WHERE ticket_id = $1 LIMIT 50"),
        ):
            statement = await conn.prepare(sql)
            times = []
            for ticket_id in ids:
                started = time.perf_counter()
                await statement.fetch(ticket_id)
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            print(
                f"{name} ({messages:,} messages) {label}: p50 {times[len(times) // 2]:.2f} ms,"
                f" p99 {times[int(len(times) * 0.99)]:.2f} ms"
            )
        sizes = await conn.fetch(
            "SELECT relname, pg_size_pretty(pg_relation_size(oid)) AS size FROM pg_class"
            " WHERE relname = 'conversations' OR relname LIKE 'ix_conversations%'"
        )
        print("  " + ", ".join(f"{r['relname']} {r['size']}" for r in sizes))
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench retention", description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--purge-days", type=int, default=10)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--seeded", action="append", help="a seeded database: its thread reads")
    args = parser.parse_args(argv)
    if args.seeded:
        for url in args.seeded:
            asyncio.run(thread_reads(url, args.reads))
        print(f"load average {os.getloadavg()[0]:.1f}")
        return
    server = os.environ.get("HELPLINE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/")
    url = create_database(server, prefix="helpline_bench_retention")
    try:
        asyncio.run(run(url, args))
    finally:
        drop_database(server, url)
