"""Measure service levels on this machine: recompute, the alarm step, the SLA queue, the feed.

Usage:  scripts/bench sla [--tickets 20000] [--rounds 200] [--only-inbox] [--waiting-every K]

On a fresh throw-away database (PostgreSQL at HELPLINE_TEST_DATABASE_URL's server, else
127.0.0.1:5432 as postgres): N open tickets (mixed priorities, half with a staff reply and a
customer follow-up; with `--waiting-every K` one in K waiting on the customer — paused, so without
a running deadline), a business-hours calendar and a policy, then
- recompute: every open ticket's clocks re-derived in 500-ticket transactions — tickets/s, wall
  and this process's CPU (the derivation is Python; PostgreSQL's share is the rest of the wall),
  once after the policy is created (clocks inserted) and once after a calendar change (every
  running deadline moves: the case of the issue);
- alarm step with nothing due: p50/p99 wall per step, and its EXPLAIN (ANALYZE, BUFFERS) and
  that of the next-alarm probe (they must not grow with N: index probes, not scans);
- SLA queue first page (`GET /api/v1/sla/queue` query), and with a status filter: p50/p99;
- the inbox sorted by SLA due (`GET /api/v1/tickets?sort=sla_due`, the repository's statement
  with every item's `sla` block): first page, a page deep in the list, with filters, the page
  that crosses from deadlines to tickets without one, and a page deep among those — p50/p99, and
  the plans of the first page and of the crossing page's second statement;
- the feed consumer: events/s re-deriving the tickets of 2,000 new messages.
This is a report, not a test: nothing here fails a build.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid

from sqlalchemy import text

from helpline.auth.principal import SYSTEM_PRINCIPAL
from helpline.config import Settings
from helpline.db import Database, make_engine
from helpline.kit.clock import utcnow
from helpline.sla import runner, service
from helpline.sla.schemas import CalendarCreate, CalendarUpdate, PolicyCreate
from helpline.ticket import repository as ticket_repository
from helpline.ticket.access import TicketVisibility
from helpline.ticket.schemas import TicketFilters, TicketSort
from scripts.lib.services import create_database, drop_database

H = 3600


async def rows_written(db: Database) -> int:
    """Tuples inserted, updated and deleted in the SLA tables so far (this database's statistics:
    unlike wall time, not moved by the other work on a shared machine)."""
    async with db.transaction() as s:
        await s.execute(text("SELECT pg_stat_clear_snapshot()"))
        return int(
            (
                await s.execute(
                    text(
                        "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)"
                        " FROM pg_stat_user_tables"
                        " WHERE relname IN ('sla_clocks', 'sla_ticket_states', 'sla_inbox_rest')"
                    )
                )
            ).scalar_one()
        )


async def timed_recompute(db: Database, recompute: uuid.UUID) -> tuple[float, float, int]:
    """Wall, client CPU and SLA rows written of a recomputation run to its end."""
    before = await rows_written(db)
    wall, cpu = time.perf_counter(), time.process_time()
    await runner.recompute(db, utcnow, recompute)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await asyncio.sleep(1.5)  # statistics reach the shared view within a second
    return wall, cpu, await rows_written(db) - before


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def seed(db: Database, tickets: int, waiting_every: int = 0) -> None:
    async with db.transaction() as s:
        await s.execute(
            text(
                "INSERT INTO users (id, email, name, role) VALUES"
                " ('00000000-0000-7000-8000-000000000001', 'c@example.com', 'C', 'customer'),"
                " ('00000000-0000-7000-8000-000000000002', 'a@example.com', 'A', 'agent')"
            )
        )
    step = 5000
    for start in range(0, tickets, step):
        async with db.transaction() as s:
            before = (
                await s.execute(text("SELECT coalesce(max(number), 0) FROM tickets"))
            ).scalar_one()
            await s.execute(
                text(
                    "INSERT INTO tickets (id, title, customer_id, priority, status, created_at)"
                    " SELECT gen_random_uuid(), 't' || i, '00000000-0000-7000-8000-000000000001',"
                    " (ARRAY['low','normal','high','urgent'])[1 + i % 4],"
                    " CASE WHEN i % NULLIF(:k, 0) = 0 THEN 'pending' ELSE 'new' END,"
                    " now() - (i % 5000) * interval '1 minute'"
                    " FROM generate_series(CAST(:a AS int), CAST(:b AS int)) i"
                ),
                {"a": start, "b": min(start + step, tickets) - 1, "k": waiting_every},
            )
            # Half of them got a staff reply 20 minutes in.
            await s.execute(
                text(
                    "INSERT INTO conversations (id, ticket_id, message, sender_id, sender_type,"
                    " timestamp) SELECT gen_random_uuid(), t.id, 'reply',"
                    " '00000000-0000-7000-8000-000000000002', 'agent',"
                    " t.created_at + interval '20 minutes' FROM tickets t"
                    " WHERE t.number > :before AND t.number % 2 = 0"
                ),
                {"before": before},
            )


async def run(args: argparse.Namespace, url: str) -> None:
    db = Database(make_engine(url, Settings(), pool_size=2))
    try:
        t = time.perf_counter()
        await seed(db, args.tickets, args.waiting_every)
        print(f"seeded {args.tickets} tickets in {time.perf_counter() - t:.1f} s")
        async with db.transaction() as s:
            # As autovacuum would after a bulk load; at 1M rows it outlasts the service's
            # statement timeout.
            await s.execute(text("SET LOCAL statement_timeout = 0"))
            await s.execute(text("ANALYZE"))
        async with db.transaction() as s:
            await s.execute(
                text(
                    "UPDATE sla_feed_positions SET xid = (SELECT max(xid) FROM events),"
                    " event_id = (SELECT max(id) FROM events)"
                )
            )
            cal = await service.create_calendar(
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
                p: {
                    "first_response": {"seconds": h * H},
                    "next_response": {"seconds": 2 * h * H},
                    "resolution": {"seconds": 10 * h * H},
                }
                for p, h in (("low", 8), ("normal", 4), ("high", 2), ("urgent", 1))
            }
            _, recompute = await service.create_policy(
                s,
                SYSTEM_PRINCIPAL,
                PolicyCreate(name="std", position=0, calendar_id=cal.id, targets=targets),
            )
        wall, cpu, written = await timed_recompute(db, recompute)
        print(
            f"recompute after a policy is created, {args.tickets} open tickets: {wall:.1f} s wall,"
            f" {cpu:.1f} s client CPU, {written} SLA rows written"
            f" = {args.tickets / wall:.0f} tickets/s;"
            f" 1M extrapolated: {1e6 / args.tickets * wall / 60:.1f} min"
        )
        # The case the issue names: a calendar change when every open ticket already has its
        # clocks (office hours start an hour later: every running deadline moves).
        async with db.transaction() as s:
            _, changed = await service.update_calendar(
                s,
                SYSTEM_PRINCIPAL,
                cal.id,
                CalendarUpdate(
                    intervals=[{"weekday": d, "start": "09:00", "end": "18:00"} for d in range(5)]
                ),
                now=utcnow(),
            )
        assert changed is not None  # a policy uses the calendar
        wall, cpu, written = await timed_recompute(db, changed)
        print(
            f"recompute after a calendar change, {args.tickets} open tickets: {wall:.1f} s wall,"
            f" {cpu:.1f} s client CPU, {written} SLA rows written"
            f" = {args.tickets / wall:.0f} tickets/s;"
            f" 1M extrapolated: {1e6 / args.tickets * wall / 60:.1f} min"
        )
        async with db.transaction() as s:
            clocks = (await s.execute(text("SELECT count(*) FROM sla_clocks"))).scalar_one()
            pending = (
                await s.execute(
                    text("SELECT count(*) FROM sla_clocks WHERE next_alarm_at IS NOT NULL")
                )
            ).scalar_one()
        print(f"{clocks} clocks, {pending} with an alarm to come")

        if args.only_inbox:
            await inbox_by_due(db, args.rounds)
            return
        # Alarm step with nothing newly due (fire everything due now first: a catch-up, as
        # after an outage — half the seeded clocks are long overdue).
        wall, cpu = time.perf_counter(), time.process_time()
        caught_up = await runner.fire_alarms(db, utcnow)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"alarm catch-up: {len(caught_up)} alarms fired in {wall:.1f} s wall,"
            f" {cpu:.1f} s client CPU ({len(caught_up) / max(wall, 1e-9):.0f} alarms/s)"
        )
        times = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            await runner.fire_alarms(db, utcnow)
            times.append((time.perf_counter() - t) * 1000)
        async with db.transaction() as s:
            plan = "\n".join(
                r[0]
                for r in await s.execute(
                    text(
                        "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM sla_clocks"
                        " WHERE next_alarm_at IS NOT NULL AND next_alarm_at <= now()"
                        " ORDER BY next_alarm_at LIMIT 500 FOR UPDATE SKIP LOCKED"
                    )
                )
            )
        print(
            f"alarm step, nothing due: p50 {pct(times, 0.5):.2f} ms,"
            f" p99 {pct(times, 0.99):.2f} ms (incl. BEGIN/COMMIT)"
        )
        print("  its plan (EXPLAIN ANALYZE, BUFFERS; an index range over what is due, no scan):")
        print("\n".join(f"    {line}" for line in plan.splitlines()))
        async with db.transaction() as s:
            plan = "\n".join(
                r[0]
                for r in await s.execute(
                    text("EXPLAIN (ANALYZE, BUFFERS) SELECT min(next_alarm_at) FROM sla_clocks")
                )
            )
        print("  the wake-up probe (when is the next alarm):")
        print("\n".join(f"    {line}" for line in plan.splitlines()))

        for label, filt in (
            ("first page", ""),
            (
                "status=new,open&priority=high",
                " AND t.status = ANY(ARRAY['new','open']) AND t.priority = 'high'",
            ),
        ):
            times = []
            for _ in range(args.rounds):
                t = time.perf_counter()
                async with db.transaction() as s:
                    await s.execute(
                        text(
                            "SELECT t.id, t.number, t.title, t.status, t.priority,"
                            " t.assigned_to, t.customer_id, t.updated_at, s.due_at,"
                            " s.breached, s.policy_id FROM sla_ticket_states s"
                            " JOIN tickets t ON t.id = s.ticket_id WHERE s.due_at IS NOT NULL AND"
                            f" t.deleted_at IS NULL{filt} ORDER BY s.due_at, s.ticket_id LIMIT 26"
                        )
                    )
                times.append((time.perf_counter() - t) * 1000)
            print(f"SLA queue {label}: p50 {pct(times, 0.5):.2f} ms, p99 {pct(times, 0.99):.2f} ms")

        await inbox_by_due(db, args.rounds)

        async with db.transaction() as s:
            await s.execute(
                text(
                    "INSERT INTO conversations (id, ticket_id, message, sender_id, sender_type)"
                    " SELECT gen_random_uuid(), id, 'more', '00000000-0000-7000-8000-000000000001',"
                    " 'customer' FROM tickets ORDER BY id LIMIT 2000"
                )
            )
        wall, cpu = time.perf_counter(), time.process_time()
        read = await runner.follow_feed(db, utcnow)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"feed consumer: {read} events in {wall:.2f} s ({read / wall:.0f} events/s),"
            f" {cpu:.2f} s client CPU"
        )
    finally:
        await db.dispose()


STAFF = TicketVisibility(customer_id=None, sees_internal=True)


async def inbox_by_due(db: Database, rounds: int) -> None:
    """The ticket list in `sla_due` order, as the console's inbox asks for it (25 a page)."""
    async with db.transaction() as s:
        (running,) = (
            await s.execute(text("SELECT count(*) FROM sla_ticket_states WHERE due_at IS NOT NULL"))
        ).one()
        middle = (
            await s.execute(
                text(
                    "SELECT due_at, ticket_id FROM sla_ticket_states WHERE due_at IS NOT NULL"
                    " ORDER BY due_at, ticket_id OFFSET :n LIMIT 1"
                ),
                {"n": running // 2},
            )
        ).one()
        last = (
            await s.execute(
                text(
                    "SELECT due_at, ticket_id FROM sla_ticket_states WHERE due_at IS NOT NULL"
                    " ORDER BY due_at DESC, ticket_id DESC OFFSET 10 LIMIT 1"
                )
            )
        ).one()
        (waiting,) = (
            await s.execute(
                text("SELECT count(*) FROM tickets WHERE status = 'pending' AND deleted_at IS NULL")
            )
        ).one()
        deep = (
            await s.execute(
                text(
                    "SELECT updated_at, id FROM tickets WHERE status = 'pending'"
                    " ORDER BY updated_at DESC, id DESC OFFSET :n LIMIT 1"
                ),
                {"n": waiting // 2},
            )
        ).first()
    cases: tuple[tuple[str, TicketFilters, tuple[object, ...] | None], ...] = (
        ("first page", TicketFilters(), None),
        ("page in the middle", TicketFilters(), (middle.due_at, middle.ticket_id)),
        (
            "status=new,open&priority=high",
            TicketFilters(status=("new", "open"), priority="high"),
            None,
        ),
        ("sla_breached=true", TicketFilters(sla_breached=True), None),
        ("crossing to tickets without a deadline", TicketFilters(), (last.due_at, last.ticket_id)),
    )
    if deep is not None:
        cases += (
            (
                "deep among tickets without a deadline",
                TicketFilters(),
                (deep.updated_at, deep.id, True),
            ),
        )
    for label, filters, after in cases:
        times = []
        for _ in range(rounds):
            t = time.perf_counter()
            async with db.transaction() as s:
                rows = await ticket_repository.list_tickets(
                    s, STAFF, filters, TicketSort.sla_due, 25, after
                )
            times.append((time.perf_counter() - t) * 1000)
        print(
            f"inbox sort=sla_due {label}: p50 {pct(times, 0.5):.2f} ms,"
            f" p99 {pct(times, 0.99):.2f} ms ({len(rows)} rows)"
        )
    plans = (
        (
            "first page",
            ticket_repository.list_statement(STAFF, TicketFilters(), TicketSort.sla_due, 25, None),
        ),
        (
            "tickets without a deadline (the crossing page's second statement)",
            ticket_repository.without_deadline_statement(STAFF, TicketFilters(), 25, None),
        ),
    )
    for label, stmt in plans:
        async with db.transaction() as s:
            sql = str(stmt.compile(s.bind, compile_kwargs={"literal_binds": True}))
            plan = [r[0] for r in await s.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql))]
        print(f"  {label} plan:")
        for line in plan:
            if "SubPlan" in line or "->" in line or "Execution" in line or line[:1] != " ":
                print("   " + line)


def main(argv: list[str]) -> object:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument(
        "--only-inbox",
        action="store_true",
        help="after the recompute, only the inbox sorted by SLA due (skips firing the alarms)",
    )
    parser.add_argument(
        "--waiting-every",
        type=int,
        default=0,
        help="one ticket in K is waiting on the customer (no running deadline); 0: none",
    )
    arguments = parser.parse_args(argv)
    server = os.environ.get(
        "HELPLINE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    database_url = create_database(server, prefix="helpline_bench_sla")
    try:
        asyncio.run(run(arguments, database_url))
    finally:
        drop_database(server, database_url)
    return 0
