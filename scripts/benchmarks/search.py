"""Measure ticket and message search: the ranked search and the list's `q` in each scope.

Usage:  scripts/bench search [--tickets 100000] [--queries 60] [--database-url URL]

Without --database-url: a fresh throw-away database on HELPLINE_TEST_DATABASE_URL's server (else
127.0.0.1:5432 as postgres), seeded with `helpline seed --tickets N` (about 3.3 messages a
ticket, the seed's vocabulary). Queries are drawn at random (fixed seed) from that vocabulary —
common words, rarer ones, two-word mixes, order numbers (one ticket each) and words that match
nothing (the worst case for a list ordered by `updated_at` that must walk its index to find
`limit` matches) — and run through the repository's own statements on one connection, as staff
and as a customer: `GET /tickets/search` (scope all) and the first list page with `q_scope`
tickets, messages and all. Prints p50/p99/max per scenario (ms) and the slowest query.
This is a report, not a test: nothing here fails a build.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from helpline.config import Settings
from helpline.db import Database, make_engine
from helpline.seed import vocabulary
from helpline.ticket import repository
from helpline.ticket.access import TicketVisibility
from helpline.ticket.schemas import SearchScope, TicketFilters, TicketSort
from scripts.lib.services import create_database, drop_database

REPO = Path(__file__).resolve().parents[2]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def words_of(*groups: tuple[str, ...]) -> list[str]:
    found: set[str] = set()
    for group in groups:
        for fragment in group:
            found.update(w.lower() for w in re.findall(r"[A-Za-z]{4,}", fragment))
    return sorted(found)


def queries(count: int, numbers: list[int]) -> list[tuple[str, str]]:
    rng = random.Random(7)
    titles = words_of(vocabulary.PROBLEMS, vocabulary.PRODUCTS)
    messages = words_of(
        vocabulary.CUSTOMER_REPLIES, vocabulary.AGENT_REPLIES, vocabulary.INTERNAL_NOTES
    )
    made: list[tuple[str, str]] = []
    kinds = ("title word", "message word", "two words", "order number", "no match")
    for i in range(count):
        kind = kinds[i % len(kinds)]
        if kind == "title word":
            q = rng.choice(titles)
        elif kind == "message word":
            q = rng.choice(messages)
        elif kind == "two words":
            q = f"{rng.choice(titles)} {rng.choice(messages)}"
        elif kind == "order number":
            q = str(rng.choice(numbers)) if numbers else rng.choice(titles)
        else:
            q = f"zq{rng.randrange(10**6)}xv"
        made.append((kind, q))
    return made


async def timed(run: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await run()
    return (time.perf_counter() - started) * 1000


async def measure(db: Database, args: argparse.Namespace) -> None:
    async with db.transaction() as s:
        customer = (
            await s.execute(
                text(
                    "SELECT customer_id FROM tickets GROUP BY customer_id "
                    "ORDER BY count(*) DESC LIMIT 1"
                )
            )
        ).scalar_one()
        tickets, messages = (
            await s.execute(
                text("SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM conversations)")
            )
        ).one()
        # Order numbers that occur in titles ("Refund request for order 123456").
        numbers = [
            int(n)
            for (n,) in (
                await s.execute(
                    text(
                        "SELECT substring(title from '([0-9]{4,})') FROM tickets "
                        "WHERE title ~ '[0-9]{4,}' LIMIT 200"
                    )
                )
            ).all()
        ]
    print(f"{tickets:,} tickets, {messages:,} messages; {args.queries} queries per scenario")
    staff = TicketVisibility(customer_id=None, sees_internal=True)
    own = TicketVisibility(customer_id=customer, sees_internal=False)
    drawn = queries(args.queries, numbers)

    def ranked(visibility: TicketVisibility, q: str) -> Callable[[], Awaitable[Any]]:
        async def run() -> Any:
            async with db.transaction() as s:
                return await repository.search_tickets(s, visibility, q, SearchScope.all, 20, 1000)

        return run

    def listed(visibility: TicketVisibility, q: str, scope: SearchScope) -> Callable[[], Any]:
        filters = TicketFilters(q=q, q_scope=scope)

        async def run() -> Any:
            async with db.transaction() as s:
                return await repository.list_tickets(
                    s, visibility, filters, TicketSort.updated_desc, 25, None
                )

        return run

    scenarios: dict[str, Callable[[TicketVisibility, str], Callable[[], Any]]] = {
        "search (ranked, all)": ranked,
        "list q_scope=tickets": lambda v, q: listed(v, q, SearchScope.tickets),
        "list q_scope=messages": lambda v, q: listed(v, q, SearchScope.messages),
        "list q_scope=all": lambda v, q: listed(v, q, SearchScope.all),
    }
    print(f"{'scenario':<26} {'who':<9} {'p50':>8} {'p99':>8} {'max':>8}  slowest")
    for name, make in scenarios.items():
        for who, visibility in (("staff", staff), ("customer", own)):
            await make(visibility, "warm")()  # connections and plans
            times: list[tuple[float, str, str]] = []
            for kind, q in drawn:
                times.append((await timed(make(visibility, q)), kind, q))
            values = [t for t, _, _ in times]
            worst = max(times)
            print(
                f"{name:<26} {who:<9} {pct(values, 0.5):8.1f} {pct(values, 0.99):8.1f} "
                f"{worst[0]:8.1f}  {worst[1]}: {worst[2]!r}"
            )


async def run(args: argparse.Namespace, url: str) -> None:
    settings = Settings(database_url=url, db_pool_size=2, db_statement_timeout_ms=15000)
    engine = make_engine(url, settings)
    try:
        await measure(Database(engine), args)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench search", description=__doc__)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--database-url", help="an already seeded database (kept as it is)")
    args = parser.parse_args(argv)
    if args.database_url:
        asyncio.run(run(args, args.database_url))
        return
    server = os.environ.get("HELPLINE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/")
    url = create_database(server)
    try:
        env = {**os.environ, "HELPLINE_DATABASE_URL": url}
        started = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).parent / "helpline"), "seed", "--tickets", str(args.tickets)],
            check=True,
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
        )
        print(f"seeded {args.tickets:,} tickets in {time.perf_counter() - started:.1f} s")
        asyncio.run(run(args, url))
    finally:
        drop_database(server, url)
