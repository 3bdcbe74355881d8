"""How the console's reads scale with the ticket count: each at one connection and at 16.

Usage:  scripts/bench scale [--tickets 100000] [--database-url URL] [--queries 100]
                            [--budget 30] [--seconds 3] [--connections 16] [--only NAME,…]
                            [--json]

Without --database-url: a throw-away database on HELPLINE_TEST_DATABASE_URL's server (else
127.0.0.1:5432 as postgres), seeded with `helpline seed --tickets N` and dropped afterwards.

Every scenario runs the service's own code (`ticket.service.list_tickets_document`,
`count_tickets_document`, `history.service.list_history`, `events.service.read_feed`) on a unit of
work without a cache, so no list cache serves a repeat: each call is planned and run by
PostgreSQL. The list's `q` is drawn at random (fixed seed) from the seed's vocabulary, as the
inbox's search box sends it (`q_scope=all`): rare and common single words and rare, common and
mixed pairs, with and without a status filter. Customers, agents, tickets and feed positions are
drawn at random too. Each scenario is measured (a) unloaded — one connection, `--queries`
calls (fewer when they take more than `--budget` seconds), p50/p99/max — and (b) loaded —
`--connections` tasks on as many connections for `--seconds`, p50/p99 and calls per second.
Times are wall-clock per call in this process (SQL, the rows turned into the response's JSON):
the server and this client share the machine's CPUs. A call that fails (e.g. the 15 s statement
timeout) is counted as an error, never hidden. The table's `n` is the unloaded calls made.
This is a report, not a test: nothing here fails a build.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from helpline.auth.permissions import ROLE_SCOPES
from helpline.auth.principal import Principal
from helpline.config import Settings
from helpline.db import Database, make_engine
from helpline.events import service as events_service
from helpline.history import service as history_service
from helpline.kit.cursor import encode_cursor
from helpline.models.enums import Role, TicketPriority, TicketStatus
from helpline.seed import vocabulary
from helpline.ticket import service as ticket_service
from helpline.ticket.schemas import SearchScope, TicketFilters, TicketSort
from scripts.benchmarks.search import REPO, pct
from scripts.lib.services import create_database, drop_database

SEED = 26  # the random seed of every draw: runs at 100k, 1M and 10M ask the same questions
LIMIT = 25  # the console's page size
STATUS_FILTER = (TicketStatus.open, TicketStatus.pending)  # a status filter as the inbox sends
WORD = re.compile(r"[a-z]{4,}")
Call = Callable[[], Awaitable[Any]]
Make = Callable[[random.Random], Call]

# -- the pure parts: which words are rare and which common, the queries drawn from them --------


def title_texts() -> list[str]:
    """The seed's titles as it composes them (each problem with each product): a word's share of
    these is its share of the tickets' titles."""
    titles: list[str] = []
    for problem in vocabulary.PROBLEMS:
        for product in vocabulary.PRODUCTS if "{p}" in problem else vocabulary.PRODUCTS[:1]:
            titles.append(problem.replace("{p}", product).replace("{n}", ""))
    return titles


# Where a ticket's searchable text comes from (q_scope=all) and how many fragments of each pool
# one ticket has: one title, 1-4 description sentences, about 3.3 messages.
TEXT_POOLS: tuple[tuple[tuple[str, ...], float], ...] = (
    (tuple(title_texts()), 1.0),
    (vocabulary.DESCRIPTION_SENTENCES, 2.5),
    (vocabulary.CUSTOMER_REPLIES + vocabulary.AGENT_REPLIES + vocabulary.INTERNAL_NOTES, 3.3),
)


def word_shares() -> dict[str, float]:
    """Each word of the seed's ticket and message text and about the share of tickets that
    hold it (fragments per ticket x the pool's fragments holding it, at most 1)."""
    shares: dict[str, float] = {}
    for fragments, per_ticket in TEXT_POOLS:
        for fragment in fragments:
            for word in set(WORD.findall(fragment.lower())):
                shares[word] = shares.get(word, 0.0) + per_ticket / len(fragments)
    return {word: min(1.0, share) for word, share in shares.items()}


def rare_and_common(shares: dict[str, float], searchable: set[str]) -> tuple[list[str], list[str]]:
    """The searchable words' rarest third and commonest third: (rare, common), each sorted."""
    ranked = sorted((w for w in shares if w in searchable), key=lambda w: (shares[w], w))
    third = len(ranked) // 3
    return sorted(ranked[:third]), sorted(ranked[len(ranked) - third :])


SEARCH_KINDS = ("rare", "common", "rare pair", "common pair", "mixed pair")


def draw_query(rng: random.Random, kind: str, rare: list[str], common: list[str]) -> str:
    """A `q` of ``kind``: one word or two distinct words (both must match: websearch syntax)."""
    if kind == "rare":
        return rng.choice(rare)
    if kind == "common":
        return rng.choice(common)
    first, second = {
        "rare pair": (rare, rare),
        "common pair": (common, common),
        "mixed pair": (rare, common),
    }[kind]
    one = rng.choice(first)
    other = rng.choice([w for w in second if w != one])
    return f"{one} {other}"


def summary(times_ms: list[float]) -> dict[str, float]:
    """p50, p99 and max of some call times (ms); zeros when there are none."""
    if not times_ms:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    return {"p50": pct(times_ms, 0.5), "p99": pct(times_ms, 0.99), "max": max(times_ms)}


# -- the data the draws pick from ----------------------------------------------------------------


@dataclass
class Population:
    """What the scenarios pick from, read once (each statement cheap at 10M tickets)."""

    tickets: int
    agents: list[uuid.UUID]
    customers: list[uuid.UUID]
    teams: list[uuid.UUID]
    max_number: int
    events: tuple[int, int]  # smallest and largest event id
    rare: list[str] = field(default_factory=list)
    common: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


# The first live ticket from a random number on (a soft-deleted ticket has no history page).
LIVE_TICKET = text(
    "SELECT id FROM tickets WHERE number >= :n AND deleted_at IS NULL ORDER BY number LIMIT 1"
)
NEXT_EVENT = text("SELECT xid, id FROM events WHERE id >= :id ORDER BY id LIMIT 1")
ESTIMATED = ("tickets", "conversations", "ticket_history", "events", "sla_ticket_states")


async def population(db: Database) -> Population:
    async with db.transaction() as s:

        async def one(sql: str, **params: Any) -> Any:
            return (await s.execute(text(sql), params)).one()

        async def ids(sql: str) -> list[uuid.UUID]:
            return [r[0] for r in (await s.execute(text(sql))).all()]

        # Planner estimates (-1: never analyzed): a count(*) of 10M rows is not for a report.
        estimate = "SELECT reltuples::bigint FROM pg_class WHERE relname = :table"
        counts = {t: int((await one(estimate, table=t))[0]) for t in ESTIMATED}
        shares = word_shares()
        # The words PostgreSQL's English configuration keeps (not stop words like "with").
        kept = await s.execute(
            text("SELECT w FROM unnest(CAST(:words AS text[])) w WHERE to_tsvector(w) <> ''"),
            {"words": sorted(shares)},
        )
        rare, common = rare_and_common(shares, {r[0] for r in kept.all()})
        low, high = await one("SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM events")
        return Population(
            tickets=int((await one("SELECT count(*) FROM tickets"))[0]),
            agents=await ids("SELECT id FROM users WHERE role = 'agent' AND is_active ORDER BY id"),
            customers=await ids("SELECT id FROM users WHERE role = 'customer' ORDER BY id"),
            teams=await ids("SELECT id FROM teams ORDER BY id"),
            max_number=int((await one("SELECT coalesce(max(number), 1) FROM tickets"))[0]),
            events=(int(low), int(high)),
            rare=rare,
            common=common,
            counts=counts,
        )


# -- the scenarios --------------------------------------------------------------------------------


def principal(user_id: uuid.UUID, role: Role) -> Principal:
    return Principal(user_id=user_id, role=role, scopes=ROLE_SCOPES[role])


def scenarios(db: Database, pop: Population, secret: bytes) -> dict[str, Make]:
    """Name → a maker that draws one call's arguments from the rng and returns the call."""

    def listing(
        filters: Callable[[random.Random], TicketFilters],
        sort: TicketSort = TicketSort.updated_desc,
        customer: bool = False,
        page_two: bool = False,
    ) -> Make:
        def make(rng: random.Random) -> Call:
            who = (
                principal(rng.choice(pop.customers), Role.customer)
                if customer
                else principal(rng.choice(pop.agents), Role.agent)
            )
            chosen = filters(rng)

            async def page(cursor: str | None) -> Any:
                uow = db.work()  # no cache: every call is the database's
                async with uow.boundary():
                    return await ticket_service.list_tickets_document(
                        uow, who, chosen, sort, LIMIT, cursor, secret
                    )

            async def call() -> Any:
                first = await page(None)
                if not page_two:
                    return first
                cursor = first.page().meta.next_cursor
                started = time.perf_counter()
                await page(cursor)
                return time.perf_counter() - started  # page 2 alone is what is timed

            return call

        return make

    def counts(filters: Callable[[random.Random], TicketFilters]) -> Make:
        def make(rng: random.Random) -> Call:
            who = principal(rng.choice(pop.agents), Role.agent)
            chosen = filters(rng)

            async def call() -> Any:
                uow = db.work()
                async with uow.boundary():
                    return await ticket_service.count_tickets_document(uow, who, chosen)

            return call

        return make

    def history(rng: random.Random) -> Call:
        who = principal(rng.choice(pop.agents), Role.agent)
        number = rng.randint(1, pop.max_number)

        async def call() -> Any:
            uow = db.work()
            async with uow.boundary():
                found = await uow.session.execute(LIVE_TICKET, {"n": number})
                ticket_id = found.scalar_one_or_none()
                if ticket_id is None:
                    return None
                started = time.perf_counter()
                await history_service.list_history(
                    uow, who, ticket_id, change_set_id=None, limit=LIMIT, cursor=None,
                    cursor_secret=secret,
                )  # fmt: skip
                return time.perf_counter() - started  # the lookup by number is not the page's

        return call

    def feed(customer: bool) -> Make:
        def make(rng: random.Random) -> Call:
            who = (
                principal(rng.choice(pop.customers), Role.customer)
                if customer
                else principal(rng.choice(pop.agents), Role.agent)
            )
            low, high = pop.events

            async def call() -> Any:
                async with db.transaction() as s:
                    after = None
                    if high > low:  # resume from a random position, as a consumer does
                        at = {"id": rng.randint(low, high)}
                        row = (await s.execute(NEXT_EVENT, at)).one()
                        after = encode_cursor(secret, events_service.FEED_CURSOR, [row.xid, row.id])
                    started = time.perf_counter()
                    await events_service.read_feed(
                        s, who, after=after, types=(), ticket_id=None, limit=100,
                        cursor_secret=secret,
                    )  # fmt: skip
                    return time.perf_counter() - started

            return call

        return make

    def search(kind: str, status: bool) -> Callable[[random.Random], TicketFilters]:
        def filters(rng: random.Random) -> TicketFilters:
            q = draw_query(rng, kind, pop.rare, pop.common)
            return TicketFilters(
                q=q, q_scope=SearchScope.all, status=STATUS_FILTER if status else ()
            )

        return filters

    def none(rng: random.Random) -> TicketFilters:
        return TicketFilters()

    def team(rng: random.Random) -> TicketFilters:
        return TicketFilters(team_id=rng.choice(pop.teams) if pop.teams else uuid.uuid4())

    made: dict[str, Make] = {
        "list, first page": listing(none),
        "list, page 2 (keyset)": listing(none, page_two=True),
        "list, status+priority": listing(
            lambda r: TicketFilters(
                status=(r.choice(list(TicketStatus)),), priority=r.choice(list(TicketPriority))
            )
        ),
        "list, assignee": listing(lambda r: TicketFilters(assigned_to=r.choice(pop.agents))),
        "list, team": listing(team),
        "list, tag": listing(lambda r: TicketFilters(tags=(r.choice(("vip", "billing", "bug")),))),
        "list, by created": listing(none, TicketSort.created_desc),
        "list, by sla_due": listing(none, TicketSort.sla_due),
        "list, status, by updated": listing(lambda r: TicketFilters(status=STATUS_FILTER)),
    }
    for kind in SEARCH_KINDS:
        made[f"q {kind}"] = listing(search(kind, False))
        made[f"q {kind}, status"] = listing(search(kind, True))
    made |= {
        "counts per status": counts(none),
        "counts per status, q": counts(search("common", False)),
        "customer's own tickets": listing(none, customer=True),
        "customer's own, q": listing(search("common", False), customer=True),
        "ticket history page": history,
        "events feed page (staff)": feed(customer=False),
        "events feed page (customer)": feed(customer=True),
    }
    return made


# -- measuring ------------------------------------------------------------------------------------


async def timed(call: Call) -> float:
    """ms of one call; a call that returns seconds (page 2, history, feed) times only its part."""
    started = time.perf_counter()
    part = await call()
    whole = time.perf_counter() - started
    return (part if isinstance(part, float) else whole) * 1000


@dataclass
class Errors:
    """Calls that failed (a statement timeout, say): counted, the first one kept, never fatal."""

    count: int = 0
    first: str = ""

    def add(self, error: Exception) -> None:
        self.count += 1
        self.first = self.first or f"{type(error).__name__}: {str(error)[:200]}"


async def unloaded(
    make: Make, rng: random.Random, calls: int, budget_s: float, errors: Errors
) -> list[float]:
    """Up to ``calls`` calls one after the other, fewer when they use up ``budget_s``."""
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    for _ in range(calls):
        if time.perf_counter() > deadline:
            break
        try:
            times.append(await timed(make(rng)))
        except Exception as error:
            errors.add(error)
    return times


async def loaded(
    make: Make, seed: int, connections: int, seconds: float, errors: Errors
) -> tuple[list[float], float]:
    """``connections`` tasks calling for ``seconds``; their times and the seconds it took."""
    deadline = time.perf_counter() + seconds
    times: list[float] = []

    async def worker(n: int) -> None:
        rng = random.Random(f"{seed}:{n}")
        while time.perf_counter() < deadline:
            try:
                times.append(await timed(make(rng)))
            except Exception as error:
                errors.add(error)

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(connections)))
    return times, time.perf_counter() - started


async def measure(db: Database, args: argparse.Namespace, secret: bytes) -> dict[str, Any]:
    pop = await population(db)
    say(args, f"{pop.tickets:,} tickets (estimates: {pop.counts}); {len(pop.agents)} agents, "
        f"{len(pop.customers):,} customers, {len(pop.teams)} teams; "
        f"{len(pop.rare)} rare and {len(pop.common)} common search words")  # fmt: skip
    chosen = scenarios(db, pop, secret)
    if args.only:
        wanted = [w.strip() for w in args.only.split(",")]
        chosen = {k: v for k, v in chosen.items() if any(w in k for w in wanted)}
    results: dict[str, Any] = {}
    header = (
        f"{'scenario':<30} {'p50':>7} {'p99':>7} {'max':>7} {'n':>4} {'err':>4} | "
        f"{'p50@' + str(args.connections):>7} {'p99@' + str(args.connections):>7} {'/s':>6} "
        f"{'err':>4}"
    )
    say(args, header)
    for index, (name, make) in enumerate(chosen.items()):
        one_errors, many_errors = Errors(), Errors()
        try:
            await timed(make(random.Random(0)))  # connections and plans
        except Exception as error:
            one_errors.add(error)
        one = await unloaded(
            make, random.Random(f"{SEED}:{index}"), args.queries, args.budget, one_errors
        )
        many, spent = await loaded(
            make, SEED * 1000 + index, args.connections, args.seconds, many_errors
        )
        alone, busy = summary(one), summary(many)
        results[name] = {
            "unloaded": {**alone, "calls": len(one), "errors": one_errors.count},
            "loaded": {
                **busy, "calls": len(many), "errors": many_errors.count,
                "per_s": len(many) / spent, "connections": args.connections,
            },
            "first_error": one_errors.first or many_errors.first or None,
        }  # fmt: skip
        say(
            args,
            f"{name:<30} {alone['p50']:7.1f} {alone['p99']:7.1f} {alone['max']:7.1f} "
            f"{len(one):>4} {one_errors.count:>4} | {busy['p50']:7.1f} {busy['p99']:7.1f} "
            f"{len(many) / spent:6.0f} {many_errors.count:>4}",
        )
    for name, result in results.items():
        if result["first_error"]:
            say(args, f"{name}: {result['first_error']}")
    return {"tickets": pop.tickets, "estimates": pop.counts, "scenarios": results}


def say(args: argparse.Namespace, message: str) -> None:
    print(message, file=sys.stderr if args.json else sys.stdout, flush=True)


async def run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    settings = Settings(
        database_url=url, db_pool_size=args.connections + 2, db_statement_timeout_ms=15000
    )
    engine = make_engine(url, settings)
    try:
        return await measure(Database(engine), args, settings.cursor_secret)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench scale", description=__doc__)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--database-url", help="an already seeded database (kept as it is)")
    parser.add_argument("--queries", type=int, default=100, help="unloaded calls per scenario")
    parser.add_argument(
        "--budget", type=float, default=30.0, help="seconds after which the unloaded calls stop"
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="loaded run per scenario")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--only", help="comma list: scenarios whose name holds one of these")
    parser.add_argument("--json", action="store_true", help="the results as JSON on stdout")
    args = parser.parse_args(argv)
    if args.database_url:
        outcome = asyncio.run(run(args, args.database_url))
    else:
        server = os.environ.get(
            "HELPLINE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/"
        )
        url = create_database(server, prefix="bench_scale")
        try:
            env = {**os.environ, "HELPLINE_DATABASE_URL": url}
            started = time.perf_counter()
            subprocess.run(
                [str(REPO / ".venv" / "bin" / "helpline"), "seed", "--tickets", str(args.tickets)],
                check=True, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            say(args, f"seeded {args.tickets:,} tickets in {time.perf_counter() - started:.1f} s")
            outcome = asyncio.run(run(args, url))
        finally:
            drop_database(server, url)
    if args.json:
        print(json.dumps(outcome, indent=2))
