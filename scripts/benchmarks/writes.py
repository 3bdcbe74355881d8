"""PostgreSQL CPU per write, without HTTP: the statements of a create, a message and a PATCH.

    scripts/bench writes                          # HELPLINE_DATABASE_URL: a seeded database
    scripts/bench writes --count 3000 --json

One connection sends exactly the statements the service sends for each request (the actor
context, then the write; the triggers do history, audit and the change feed), one transaction per
request, and the CPU time of its server process (Linux /proc, a local server only) is divided by
the requests. The floor app's miss path (an API-key lookup and a primary-key read of a ticket)
runs on the same connection as the yardstick, so the ratios — the hot-path issue's measure —
hold whatever else the machine is doing. Each scenario runs twice and the second run counts (the
first warms plans and caches). A report, not a test; it writes rows (tickets, messages) like the
HTTP benchmark does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from scripts.benchmarks.common import connect, cpu_seconds, is_local

ACTOR = (
    "SELECT set_config('helpline.actor_type', $1, true), set_config('helpline.actor_id', $2, true),"
    " set_config('helpline.api_key_id', $3, true), set_config('helpline.request_id', $4, true),"
    " set_config('helpline.ip', $5, true)"
)
COLUMNS = (
    "id, number, title, description, status, priority, created_at, updated_at, assigned_to, "
    "customer_id, version"
)
INSERT_TICKET = (
    "INSERT INTO tickets (id, title, description, status, priority, assigned_to, customer_id, "
    "mailbox_id) SELECT $1::uuid, $2::text, $3::text, $4::text, $5::text, $6::uuid, $7::uuid, "
    "$8::uuid WHERE EXISTS (SELECT * FROM users WHERE users.id = $9 AND users.is_active IS true "
    f"AND users.role IN ('customer')) RETURNING {COLUMNS}"
)
TOUCH_OPEN = (
    "UPDATE tickets SET updated_at = clock_timestamp() WHERE tickets.id = $1 AND "
    "tickets.deleted_at IS NULL AND tickets.status != 'closed' RETURNING customer_id, mailbox_id"
)
INSERT_MESSAGE = (
    "INSERT INTO conversations (id, ticket_id, message, sender_id, sender_type, is_internal, "
    "attachments, channel) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8) RETURNING id, "
    "ticket_id, message, sender_id, sender_type, is_internal, timestamp, attachments, channel"
)
LOCK = f"SELECT {COLUMNS} FROM tickets WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"
PATCH = f"UPDATE tickets SET status = $2 WHERE id = $1 RETURNING {COLUMNS}"
KEY_LOOKUP = (
    "SELECT k.id, k.user_id, k.scopes, k.rate_limit_per_minute, k.expires_at, k.revoked_at, "
    "u.role, u.is_active FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1"
)
TICKET_READ = (
    "SELECT t.id, t.title, t.description, t.status, t.priority, t.created_at, t.updated_at, "
    "t.assigned_to, t.customer_id, t.version, "
    "(SELECT coalesce(jsonb_object_agg(m.key, m.value), '{}'::jsonb) FROM ticket_metadata m "
    "WHERE m.ticket_id = t.id) AS metadata "
    "FROM tickets t WHERE t.id = $1 AND t.deleted_at IS NULL"
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("HELPLINE_DATABASE_URL"))
    parser.add_argument("--count", type=int, default=2000, help="requests per scenario")
    parser.add_argument("--json", action="store_true", help="print results as JSON only")
    return parser.parse_args(argv)


def new_uuid() -> uuid.UUID:
    return uuid.UUID(int=random.getrandbits(128), version=4)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    conn = await connect(args.database_url)
    try:
        pid: int = await conn.fetchval("SELECT pg_backend_pid()")
        agent = await conn.fetchval("SELECT id FROM users WHERE role = 'agent' LIMIT 1")
        customers = [
            r[0]
            for r in await conn.fetch(
                "SELECT id FROM users WHERE role = 'customer' AND is_active LIMIT 500"
            )
        ]
        tickets = [
            r[0]
            for r in await conn.fetch(
                "SELECT id FROM tickets WHERE deleted_at IS NULL AND status <> 'closed' "
                "ORDER BY random() LIMIT $1",
                args.count * 2,
            )
        ]
        key_hash = await conn.fetchval("SELECT key_hash FROM api_keys LIMIT 1") or b"\0" * 32
        if not customers or not tickets:
            sys.exit("bench writes: seed the database first (helpline seed)")

        async def actor() -> None:
            await conn.execute(ACTOR, "api_key", str(agent), "", uuid.uuid4().hex, "127.0.0.1")

        async def floor(i: int) -> None:
            await conn.fetchrow(KEY_LOOKUP, key_hash)
            await conn.fetchrow(TICKET_READ, tickets[i % len(tickets)])

        async def create(i: int) -> None:
            async with conn.transaction():
                await actor()
                await conn.fetchrow(
                    INSERT_TICKET, new_uuid(), "Bench: cannot open the invoice PDF",
                    "The download starts but the file is empty.", "new", "normal", None,
                    customers[i % len(customers)], None, customers[i % len(customers)],
                )  # fmt: skip

        async def message(i: int) -> None:
            async with conn.transaction():
                await actor()
                ticket = tickets[i % len(tickets)]
                await conn.fetchrow(TOUCH_OPEN, ticket)
                await conn.fetchrow(
                    INSERT_MESSAGE, new_uuid(), ticket, "Thanks, we are looking into it.",
                    agent, "agent", False, "[]", "api",
                )  # fmt: skip

        async def patch(i: int) -> None:
            async with conn.transaction():
                await actor()
                ticket = tickets[-1 - i % len(tickets)]
                await conn.fetchrow(LOCK, ticket)
                await conn.fetchrow(PATCH, ticket, random.choice(("open", "pending")))

        scenarios: dict[str, Callable[[int], Awaitable[None]]] = {
            "floor_miss": floor, "create": create, "message": message, "patch": patch,
        }  # fmt: skip
        results: dict[str, Any] = {}
        for name, step in scenarios.items():
            for _attempt in range(2):  # the first run warms plans and caches
                before = cpu_seconds({pid})[pid]
                started = time.perf_counter()
                for i in range(args.count):
                    await step(i)
                wall = time.perf_counter() - started
                cpu = cpu_seconds({pid})[pid] - before
            results[name] = {
                "db_cpu_ms": round(cpu * 1000 / args.count, 3),
                "wall_ms": round(wall * 1000 / args.count, 3),
            }
        floor_ms = results["floor_miss"]["db_cpu_ms"] or float("nan")
        for result in results.values():
            result["x_floor"] = round(result["db_cpu_ms"] / floor_ms, 2)
        revision = await conn.fetchval("SELECT version_num FROM alembic_version")
        total = await conn.fetchval("SELECT count(*) FROM tickets")
        return {
            "meta": {
                "revision": revision, "tickets_in_db": total, "count": args.count,
                "load_average": os.getloadavg()[0],
                "command": "scripts/bench writes " + " ".join(args.argv),
            },
            "results": results,
        }  # fmt: skip
    finally:
        await conn.close()


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    args.argv = argv
    if not args.database_url:
        sys.exit("bench writes: set HELPLINE_DATABASE_URL (or --database-url) to a seeded database")
    if not is_local(args.database_url):
        sys.exit("bench writes: needs a local PostgreSQL (it reads the server process's CPU time)")
    out = asyncio.run(run(args))
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    meta = out["meta"]
    print(
        f"PostgreSQL CPU per request, revision {meta['revision']}, {meta['tickets_in_db']:,} "
        f"tickets, {meta['count']} requests each, load average {meta['load_average']:.2f}"
    )
    print(f"{'scenario':<12} {'db CPU ms':>10} {'x floor':>8} {'wall ms':>8}")
    for name, r in out["results"].items():
        print(f"{name:<12} {r['db_cpu_ms']:>10.3f} {r['x_floor']:>8.2f} {r['wall_ms']:>8.3f}")
    return 0
