"""Benchmark automation rules (issue 25). Bounded runs on 127.0.0.1; a report, not a test.

Usage (a PostgreSQL server where we may create a scratch database):

    scripts/bench rules                       # 100 rules, 1000-event backlog, 5 s at 100/s
    scripts/bench rules --rules 100 --backlog 500 --seconds 5 --rate 100 --json

In one scratch database (dropped at the end) with --rules enabled rules (one matches every
ticket creation and adds a tag; the others are realistic non-matching conditions: an `all` of
an event kind and a tag, an `any` of metadata and text tests):

1. evaluation only: the 100 compiled rules' conditions against one event's facts, in-process
   (no I/O): CPU µs per event (compiled predicates, as the runner runs them, and the
   interpreter `conditions.matches` for comparison);
2. catch-up: a backlog of --backlog ticket updates, then one RulesRunner drains it: events/s
   and worker CPU ms per event (reading the feed, the ticket's facts, evaluating, the one
   matching execution per created ticket);
3. change-to-effect: tickets created at --rate/s for --seconds by one writer while the runner
   polls every 50 ms: p50/p99 of (rule execution's start - event's occurred_at), once per
   --concurrency value (lanes of the runner: 1 is the one-event-at-a-time runner), in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid

from sqlalchemy import text

from helpline.auth.principal import SYSTEM_PRINCIPAL
from helpline.automation import conditions as cond
from helpline.config import Environment, Settings
from helpline.db import Database, make_engine
from helpline.rule import service as rule_service
from helpline.rule.runner import CompiledRule, RulesRunner
from helpline.rule.schemas import RuleCreate
from helpline.rule.service import facts_of
from scripts.lib.services import (
    LocalServices,
    create_database,
    drop_database,
    server_url,
)


def rule_definitions(n: int) -> list[dict]:
    rules = [
        {
            "name": "tag new tickets",
            "position": 0,
            "max_per_hour": 1_000_000,  # the bench runs it thousands of times in an hour
            "conditions": {"all": [{"field": "event", "op": "eq", "value": "ticket.created"}]},
            "actions": [{"type": "add_tags", "tags": ["seen"]}],
        }
    ]
    for i in range(1, n):
        rules.append(
            {
                "name": f"rule {i}",
                "position": i,
                "conditions": {
                    "all": [
                        {
                            "field": "event",
                            "op": "in",
                            "value": ["ticket.updated", "ticket.created"],
                        },
                        {"field": "tags", "op": "includes", "value": f"route-{i}"},
                    ],
                    "any": [
                        {"field": "metadata.plan", "op": "eq", "value": f"plan-{i}"},
                        {"field": "title", "op": "contains", "value": f"keyword {i}"},
                        {"field": "priority", "op": "in", "value": ["urgent", "high"]},
                    ],
                },
                "actions": [{"type": "set", "field": "priority", "value": "urgent"}],
            }
        )
    return rules


PENDING = (
    "SELECT count(*) FROM events e, rule_feed_cursor c WHERE (e.xid, e.id) > (c.xid, c.event_id)"
)


def cpu() -> float:
    return time.process_time()


async def latency(
    args: argparse.Namespace, database: Database, runner: RulesRunner, customer
) -> dict:
    """Tickets created at --rate/s for --seconds while the runner polls; the executions' delay."""
    result: dict = {}
    cpu_start = cpu()
    runner.loop.start()
    marker = time.time()
    total = int(args.rate * args.seconds)
    t0 = time.perf_counter()
    for i in range(total):
        async with database.transaction() as s:
            await s.execute(
                text("INSERT INTO tickets (id, title, customer_id) VALUES (:id, :t, :c)"),
                {"id": uuid.uuid4(), "t": f"L{i}", "c": customer},
            )
        delay = t0 + (i + 1) / args.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    result["offered_changes_per_s"] = round(total / (time.perf_counter() - t0), 1)
    deadline = time.perf_counter() + 30
    latencies: list[float] = []
    while time.perf_counter() < deadline:
        async with database.transaction() as s:
            latencies = list(
                (
                    await s.execute(
                        text(
                            "SELECT extract(epoch FROM x.executed_at - e.occurred_at)"
                            " FROM rule_executions x JOIN events e ON e.id = x.event_id"
                            " WHERE e.type = 'ticket.created'"
                            " AND e.occurred_at >= to_timestamp(:m)"
                        ),
                        {"m": marker},
                    )
                ).scalars()
            )
        if len(latencies) >= total:
            break
        await asyncio.sleep(0.2)
    await runner.loop.stop()
    latencies = sorted(float(x) * 1000 for x in latencies)
    result["latency_samples"] = len(latencies)
    if latencies:
        result["latency_ms_p50"] = round(statistics.median(latencies), 1)
        result["latency_ms_p99"] = round(latencies[int(len(latencies) * 0.99) - 1], 1)
    result["process_cpu_ms_per_change"] = round((cpu() - cpu_start) / max(total, 1) * 1e3, 3)
    return result


async def run(args: argparse.Namespace, url: str) -> dict:
    settings = Settings(env=Environment.test, database_url=url, db_pool_size=4)
    database = Database(make_engine(url, settings))
    report: dict = {"rules": args.rules}
    try:
        async with database.transaction() as s:
            for d in rule_definitions(args.rules):
                await rule_service.create_rule(s, SYSTEM_PRINCIPAL, RuleCreate.model_validate(d))
            customer = (
                await s.execute(
                    text(
                        "INSERT INTO users (id, email, name, role)"
                        " VALUES (:id, :e, 'C', 'customer')"
                        " RETURNING id"
                    ),
                    {"id": uuid.uuid4(), "e": f"c-{uuid.uuid4().hex[:6]}@example.com"},
                )
            ).scalar()
            rules = [CompiledRule.of(r) for r in await rule_service.repository.list_rules(s)]

        # 1. evaluation only
        class T:
            status, priority, assigned_to, team_id, customer_id = (
                "open",
                "normal",
                None,
                None,
                customer,
            )
            mailbox_id, title, description, number = None, "Printer broken", "", 1
            tags, metadata = ["a", "b"], {"plan": "pro"}

        facts = facts_of(T, "ticket.updated", {"status": ["new", "open"]})
        rounds = 2000
        start = cpu()
        for _ in range(rounds):
            for rule in rules:
                rule.match(facts)  # what the runner does: the compiled conditions
        report["evaluation_cpu_us_per_event"] = round((cpu() - start) / rounds * 1e6, 1)
        start = cpu()
        for _ in range(rounds):
            for rule in rules:
                cond.matches(rule.conditions, facts)
        report["evaluation_interpreted_cpu_us_per_event"] = round((cpu() - start) / rounds * 1e6, 1)

        lanes = [int(x) for x in str(args.concurrency).split(",")]
        runner = RulesRunner(database, batch=200, interval_s=0.05, concurrency=max(lanes))
        await runner.step()  # position the cursor

        # 2. catch-up of a backlog
        ids = []
        async with database.transaction() as s:
            for i in range(args.backlog // 2):
                tid = uuid.uuid4()
                ids.append(tid)
                await s.execute(
                    text("INSERT INTO tickets (id, title, customer_id) VALUES (:id, :t, :c)"),
                    {"id": tid, "t": f"T{i}", "c": customer},
                )
        async with database.transaction() as s:
            for tid in ids:
                await s.execute(
                    text("UPDATE tickets SET status = 'open' WHERE id = :id"), {"id": tid}
                )
        async with database.transaction() as s:
            backlog = (
                await s.execute(
                    text(
                        "SELECT count(*) FROM events e, rule_feed_cursor c"
                        " WHERE (e.xid, e.id) > (c.xid, c.event_id)"
                    )
                )
            ).scalar()
        wall, start = time.perf_counter(), cpu()
        handled = 0
        while handled < backlog:
            got = await runner.step()
            handled += got
            if not got:
                await asyncio.sleep(0.02)
        wall, used = time.perf_counter() - wall, cpu() - start
        report["catchup_events"] = handled
        report["catchup_events_per_s"] = round(handled / wall, 1)
        report["catchup_worker_cpu_ms_per_event"] = round(used / handled * 1e3, 3)

        # 3. change-to-effect latency at --rate/s, per number of lanes
        for n in lanes:
            await runner.release()
            runner = RulesRunner(database, batch=200, interval_s=0.05, concurrency=n)
            report[f"lanes_{n}"] = await latency(args, database, runner, customer)
    finally:
        await database.dispose()
    return report


def main(argv: list[str]) -> object:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument(
        "--concurrency", default="1,4", help="runner lanes to measure latency with (comma list)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    server = server_url(LocalServices())
    url = create_database(server, prefix="helpline_bench_rules")
    try:
        result = asyncio.run(run(args, url))
    finally:
        drop_database(server, url)
    print(json.dumps(result, indent=None if args.json else 2))
    return 0
