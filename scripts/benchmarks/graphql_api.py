"""Agent inbox through GraphQL vs the equivalent REST calls, against a real `helpline serve`.

Usage (a PostgreSQL server; a throwaway database is created, migrated and dropped):

    scripts/bench graphql [--tickets 60] [--duration 10] [--concurrency 8]

The inbox: 25 newest tickets with customer, assignee, last message and metadata.
GraphQL: one POST. REST: the list, then per ticket GET /tickets/{id} (metadata) and
GET …/conversations?limit=100 (last message), plus GET /users/{id} once per distinct user — the
per-ticket calls issued concurrently, as a browser would. Both run in the same server process for
--duration seconds with --concurrency clients; reported: inboxes/s, p50/p99 per inbox, and the SQL
statements one inbox costs (counted in-process with a `before_cursor_execute` listener).
A report, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

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

INBOX = """{ tickets(first: 25) { edges { node {
  id title status priority updatedAt
  customer { id name email } assignee { id name email }
  lastMessages(count: 1) { id message timestamp } metadata
} } pageInfo { hasNextPage endCursor } } }"""


async def gql_inbox(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    r = await client.post("/graphql", json={"query": INBOX}, headers=headers)
    body = r.json()
    assert r.status_code == 200, body
    assert "errors" not in body, body
    assert len(body["data"]["tickets"]["edges"]) == 25


async def rest_inbox(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    page = (await client.get("/api/v1/tickets", params={"limit": 25}, headers=headers)).json()
    tickets = page["data"]
    users = {t["customer_id"] for t in tickets} | {t["assigned_to"] for t in tickets} - {None}
    calls = [client.get(f"/api/v1/tickets/{t['id']}", headers=headers) for t in tickets]
    calls += [
        client.get(f"/api/v1/tickets/{t['id']}/conversations", params={"limit": 100},
                   headers=headers)
        for t in tickets
    ]  # fmt: skip
    calls += [client.get(f"/api/v1/users/{u}", headers=headers) for u in users]
    for r in await asyncio.gather(*calls):
        assert r.status_code == 200, r.text
    assert len(tickets) == 25


async def run(base: str, headers: dict[str, str], fn: Any, seconds: float, workers: int) -> dict:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=workers * 64, max_keepalive_connections=workers * 64)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        for _ in range(3):
            await fn(client, headers)  # warm-up
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                await fn(client, headers)
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "inboxes": len(latencies),
        "per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


async def seed(base: str, agent: dict[str, str], customers: list[str], n: int) -> None:
    me = (await httpx.AsyncClient(base_url=base).get("/api/v1/auth/me", headers=agent)).json()
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        for i in range(n):
            r = await c.post("/api/v1/tickets", headers=agent, json={
                "title": f"Printer {i} is on fire", "description": "Smoke everywhere.",
                "customer_id": customers[i % len(customers)], "assigned_to": me["id"]})  # fmt: skip
            assert r.status_code == 201, r.text
            tid = r.json()["id"]
            for j in range(3):
                r = await c.post(f"/api/v1/tickets/{tid}/conversations", headers=agent,
                                 json={"message": f"reply {j}"})  # fmt: skip
                assert r.status_code == 201, r.text
            r = await c.put(f"/api/v1/tickets/{tid}/metadata/plan", headers=agent,
                            json={"value": {"tier": "pro", "seats": i}})  # fmt: skip
            assert r.status_code == 200, r.text


async def count_statements(database_url: str, env: dict[str, str], key: str) -> dict[str, int]:
    """SQL statements of one inbox each way, counted inside an in-process app."""
    from sqlalchemy import event

    from helpline.app import create_app
    from helpline.config import Environment, Settings

    settings = Settings(
        env=Environment.test, database_url=database_url, redis_url=env.get("HELPLINE_REDIS_URL"),
        redis_key_prefix=env["HELPLINE_REDIS_KEY_PREFIX"], secret_key=env["HELPLINE_SECRET_KEY"],
        api_key_pepper=env["HELPLINE_API_KEY_PEPPER"], access_log=False,
        default_rate_limit_per_minute=100_000,
    )  # fmt: skip
    app = create_app(settings)
    counts: dict[str, int] = {}
    headers = {"Authorization": f"Bearer {key}"}
    async with app.router.lifespan_context(app):
        engine = app.state.services.db.engine.sync_engine
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for name, fn in (("graphql", gql_inbox), ("rest", rest_inbox)):
                await fn(client, headers)  # warm caches the same way as the load run
                seen: list[str] = []

                def listener(*args: Any, seen: list[str] = seen) -> None:
                    seen.append(args[2])

                event.listen(engine, "before_cursor_execute", listener)
                await fn(client, headers)
                event.remove(engine, "before_cursor_execute", listener)
                counts[name] = len(seen)
    return counts


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=60)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)

    services = LocalServices()
    server = server_url(services)
    database_url = create_database(server, prefix="helpline_bench")
    workdir = Path(tempfile.mkdtemp(prefix="helpline-bench-gql-"))
    env = server_env(
        database_url, redis_url(services), f"bench-gql-{uuid.uuid4().hex[:8]}",
        HELPLINE_DEFAULT_RATE_LIMIT_PER_MINUTE="1000000", HELPLINE_ACCESS_LOG="false",
        HELPLINE_LOG_LEVEL="WARNING",
    )  # fmt: skip
    try:
        with benchkit.serve(env, workdir / "server.log") as srv:
            base = srv.base_url
            tag = uuid.uuid4().hex[:6]
            key = benchkit.create_user_key(env, "agent", f"agent-{tag}@example.com")
            headers = {"Authorization": f"Bearer {key}"}
            customers = []
            for i in range(5):
                ckey = benchkit.create_user_key(env, "customer", f"c{i}-{tag}@example.com")
                me = httpx.get(
                    f"{base}/api/v1/auth/me", headers={"Authorization": f"Bearer {ckey}"}
                )
                customers.append(me.json()["id"])
            asyncio.run(seed(base, headers, customers, args.tickets))
            results = {
                "graphql": asyncio.run(
                    run(base, headers, gql_inbox, args.duration, args.concurrency)
                ),
                "rest": asyncio.run(
                    run(base, headers, rest_inbox, args.duration, args.concurrency)
                ),
            }
        statements = asyncio.run(count_statements(database_url, env, key))
        print(
            "agent inbox (25 tickets + customer, assignee, last message, metadata); helpline "
            f"serve 1 worker; {args.concurrency} clients x {args.duration:.0f} s"
        )
        print(f"{'':8} {'inboxes/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'SQL/inbox':>10}")
        for name, r in results.items():
            print(f"{name:8} {r['per_s']:10.1f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} "
                  f"{statements[name]:10d}")  # fmt: skip
    finally:
        drop_database(server, database_url)
        subprocess.run(["rm", "-rf", str(workdir)], check=False)
