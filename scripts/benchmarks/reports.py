"""Measure reports on this machine: the metric facts' backfill and each report over a year.

Usage:  scripts/bench reports [--tickets 100000] [--rounds 20]

On a fresh throw-away database (PostgreSQL at HELPLINE_TEST_DATABASE_URL's server, else
127.0.0.1:5432 as postgres): N tickets created evenly over a year (mixed priorities, 20 agents),
70 % with a staff reply (a tenth of them after an internal note and an automatic message), 80 %
solved, a tenth of those reopened and solved again; a Berlin business-hours calendar and policy.
Then
- backfill: `helpline reports backfill`'s path (facts from history, business time in Python,
  and the daily rollups in UTC and Europe/Berlin), tickets/s;
- every report over the year, interval month (and day), UTC and Europe/Berlin, with and without a
  filter: p50/p99 wall per call (the service function in its own transaction, no HTTP), each
  report twice — from the facts (`source=facts`, as before the rollups) and as served (the
  rollups when the query allows) — and the facts' and rollups' sizes. This is a report, not a
  test: nothing here fails a build.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from helpline.auth.principal import SYSTEM_PRINCIPAL
from helpline.config import Settings
from helpline.db import Database, make_engine
from helpline.kit.clock import utcnow
from helpline.report import runner, service
from helpline.report.schemas import ResolutionMeasure, Scope, VolumeGroup
from helpline.sla import service as sla_service
from helpline.sla.schemas import CalendarCreate, PolicyCreate
from scripts.lib.services import create_database, drop_database

H = 3600
START = datetime(2025, 12, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)
CUSTOMER = "00000000-0000-7000-8000-000000000001"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def seed(db: Database, tickets: int) -> None:
    async with db.transaction() as s:
        await s.execute(
            text(
                "INSERT INTO users (id, email, name, role) VALUES"
                f" ('{CUSTOMER}', 'c@example.com', 'C', 'customer')"
            )
        )
        await s.execute(
            text(
                "INSERT INTO users (id, email, name, role) SELECT"
                " CAST('00000000-0000-7000-8000-1' || lpad(CAST(i AS text), 11, '0') AS uuid),"
                " 'a' || i || '@example.com', 'Agent ' || i, 'agent'"
                " FROM generate_series(1, 20) i"
            )
        )
    step = 10_000
    span = (END - START).total_seconds()
    for first in range(0, tickets, step):
        async with db.transaction() as s:
            # A bulk load, as `helpline seed` does: no per-row triggers (history, feed, audit).
            await s.execute(text("SET LOCAL session_replication_role = replica"))
            await s.execute(
                text(
                    "CREATE TEMP TABLE batch ON COMMIT DROP AS SELECT i, gen_random_uuid() AS id,"
                    " CAST(:start AS timestamptz) + (i * :gap) * interval '1 second'"
                    "   + (random() * 3600) * interval '1 second' AS created_at"
                    " FROM generate_series(CAST(:a AS int), CAST(:b AS int)) i"
                ),
                {
                    "start": START,
                    "gap": span / tickets,
                    "a": first,
                    "b": min(first + step, tickets) - 1,
                },
            )
            await s.execute(
                text(
                    "INSERT INTO tickets (id, title, customer_id, priority, assigned_to, status,"
                    " created_at, updated_at)"
                    " SELECT id, 't' || i, CAST(:customer AS uuid),"
                    " (ARRAY['low','normal','high','urgent'])[1 + i % 4],"
                    " CAST('00000000-0000-7000-8000-1' || lpad(CAST(1 + i % 20 AS text), 11, '0')"
                    "   AS uuid),"
                    " CASE WHEN i % 10 < 8 THEN 'solved' ELSE 'open' END, created_at, created_at"
                    " FROM batch"
                ),
                {"customer": CUSTOMER},
            )
            await s.execute(
                text(
                    "INSERT INTO ticket_history (ticket_id, change_type, new_value, timestamp,"
                    " change_set_id) SELECT id, 'created', jsonb_build_object('status', 'new'),"
                    " created_at, gen_random_uuid() FROM batch"
                )
            )
            # Notes and automatic messages first (never responses), then the staff reply.
            await s.execute(
                text(
                    "INSERT INTO conversations (id, ticket_id, message, sender_id, sender_type,"
                    " is_internal, timestamp)"
                    " SELECT gen_random_uuid(), id, 'note',"
                    " CAST('00000000-0000-7000-8000-100000000001' AS uuid), 'agent', true,"
                    " created_at + interval '2 minutes' FROM batch WHERE i % 10 = 0"
                    " UNION ALL SELECT gen_random_uuid(), id, 'auto', NULL, 'system', false,"
                    " created_at + interval '1 minute' FROM batch WHERE i % 10 = 0"
                    " UNION ALL SELECT gen_random_uuid(), id, 'reply',"
                    " CAST('00000000-0000-7000-8000-1' || lpad(CAST(1 + i % 20 AS text), 11, '0')"
                    "   AS uuid), 'agent', false,"
                    " created_at + (5 + random() * 600) * interval '1 minute'"
                    " FROM batch WHERE i % 10 < 7"
                )
            )
            await s.execute(
                text(
                    "INSERT INTO ticket_history (ticket_id, change_type, old_value, new_value,"
                    " timestamp, change_set_id)"
                    " SELECT id, 'status_changed', jsonb '\"new\"', jsonb '\"solved\"',"
                    "   created_at + (1 + random() * 71) * interval '1 hour', gen_random_uuid()"
                    " FROM batch WHERE i % 10 < 8"
                    " UNION ALL SELECT id, 'status_changed', jsonb '\"solved\"', jsonb '\"open\"',"
                    "   created_at + interval '80 hours', gen_random_uuid()"
                    " FROM batch WHERE i % 10 = 0"
                    " UNION ALL SELECT id, 'status_changed', jsonb '\"open\"', jsonb '\"solved\"',"
                    "   created_at + interval '100 hours', gen_random_uuid()"
                    " FROM batch WHERE i % 10 = 0"
                )
            )


async def policy(db: Database) -> None:
    async with db.transaction() as s:
        cal = await sla_service.create_calendar(
            s,
            SYSTEM_PRINCIPAL,
            CalendarCreate(
                name="office",
                time_zone="Europe/Berlin",
                intervals=[{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(5)],
                holidays=[{"month": 12, "day": 25}, {"month": 1, "day": 1}],
            ),
            now=utcnow(),
        )
        targets = {
            p: {"first_response": {"seconds": h * H, "business": True}}
            for p, h in (("low", 8), ("normal", 4), ("high", 2), ("urgent", 1))
        }
        await sla_service.create_policy(
            s,
            SYSTEM_PRINCIPAL,
            PolicyCreate(name="std", position=0, calendar_id=cal.id, targets=targets),
        )


Report = Callable[[Any, Scope], Awaitable[Any]]
REPORTS: dict[str, Report] = {
    "first-response": lambda s, sc: service.first_response_report(s, SYSTEM_PRINCIPAL, sc),
    "resolution (full)": lambda s, sc: service.resolution_report(
        s, SYSTEM_PRINCIPAL, sc, ResolutionMeasure.full
    ),
    "resolution (first)": lambda s, sc: service.resolution_report(
        s, SYSTEM_PRINCIPAL, sc, ResolutionMeasure.first
    ),
    "backlog": lambda s, sc: service.backlog_report(s, SYSTEM_PRINCIPAL, sc),
    "reopens": lambda s, sc: service.reopens_report(s, SYSTEM_PRINCIPAL, sc),
    "sla-attainment": lambda s, sc: service.sla_attainment_report(s, SYSTEM_PRINCIPAL, sc),
    "volume (channel)": lambda s, sc: service.volume_report(
        s, SYSTEM_PRINCIPAL, sc, VolumeGroup.channel
    ),
    "volume (agent)": lambda s, sc: service.volume_report(
        s, SYSTEM_PRINCIPAL, sc, VolumeGroup.agent
    ),
}


async def _times(
    db: Database, rounds: int, report: Report, scope: Scope
) -> tuple[list[float], str]:
    times, source = [], ""
    for _ in range(rounds):
        t = time.perf_counter()
        async with db.transaction() as s:
            source = (await report(s, scope)).source.value
        times.append((time.perf_counter() - t) * 1000)
    return times, source


async def time_reports(db: Database, rounds: int, label: str, scope: Scope) -> None:
    """Each report from the facts (before rollups) and as served now (rollups when possible)."""
    print(f"\n{label}")
    print(f"  {'':<20} {'facts p50':>10} {'p99':>8}   {'served p50':>10} {'p99':>8}  source")
    for name, report in REPORTS.items():
        facts, _ = await _times(db, rounds, report, replace(scope, source="facts"))
        served, source = await _times(db, rounds, report, scope)
        print(
            f"  {name:<20} {pct(facts, 0.5):10.1f} {pct(facts, 0.99):8.1f}"
            f"   {pct(served, 0.5):10.1f} {pct(served, 0.99):8.1f}  {source}"
        )


async def run(args: argparse.Namespace, url: str) -> None:
    db = Database(make_engine(url, Settings(), pool_size=2))
    try:
        t = time.perf_counter()
        await seed(db, args.tickets)
        print(f"seeded {args.tickets:,} tickets over a year in {time.perf_counter() - t:.1f} s")
        await policy(db)
        async with db.transaction() as s:
            await s.execute(text("ANALYZE"))
        wall, cpu = time.perf_counter(), time.process_time()
        tickets, facts = await runner.backfill(db, batch=500)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"backfill: {tickets:,} tickets, {facts:,} facts in {wall:.1f} s wall,"
            f" {cpu:.1f} s client CPU = {tickets / wall:.0f} tickets/s"
        )
        async with db.transaction() as s:
            await s.execute(text("ANALYZE ticket_metric_facts"))
            size = (
                await s.execute(
                    text("SELECT pg_size_pretty(pg_total_relation_size('ticket_metric_facts'))")
                )
            ).scalar_one()
        print(f"ticket_metric_facts: {facts:,} rows, {size} with indexes")
        async with db.transaction() as s:
            await s.execute(text("ANALYZE report_rollups"))
            await s.execute(text("ANALYZE report_rollup_bins"))
            count, bins, size = (
                await s.execute(
                    text(
                        "SELECT (SELECT count(*) FROM report_rollups),"
                        " (SELECT count(*) FROM report_rollup_bins),"
                        " pg_size_pretty(pg_total_relation_size('report_rollups')"
                        " + pg_total_relation_size('report_rollup_bins'))"
                    )
                )
            ).one()
        print(
            f"report_rollups: {count:,} rows + {bins:,} histogram bins, {size} with indexes"
            " (zones: UTC, Europe/Berlin)"
        )
        year = {"start": START, "end": END}
        await time_reports(
            db,
            args.rounds,
            "a year, by month, UTC",
            Scope(**year, interval="month", time_zone="UTC"),
        )
        berlin = ZoneInfo("Europe/Berlin")  # local midnights: whole Berlin days
        await time_reports(
            db,
            args.rounds,
            "a year, by day, Europe/Berlin",
            Scope(
                start=START.replace(tzinfo=berlin),
                end=END.replace(tzinfo=berlin),
                interval="day",
                time_zone="Europe/Berlin",
            ),
        )
        await time_reports(
            db,
            args.rounds,
            "a year, by week, priority=high and one agent",
            Scope(
                **year,
                interval="week",
                time_zone="UTC",
                priority="high",
                agent=uuid.UUID("00000000-0000-7000-8000-100000000003"),
            ),
        )
    finally:
        await db.dispose()


def main(argv: list[str]) -> object:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    arguments = parser.parse_args(argv)
    server = os.environ.get(
        "HELPLINE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    database_url = create_database(server, prefix="helpline_bench_reports")
    try:
        asyncio.run(run(arguments, database_url))
    finally:
        drop_database(server, database_url)
    return 0
