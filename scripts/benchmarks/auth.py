"""Cost of authentication + rate limiting on a cached GET ticket, measured in one run as a ratio.

Usage (a migrated database with at least one ticket, and a Redis):

    HELPLINE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/helpline_bench \
    HELPLINE_REDIS_URL=redis://127.0.0.1:6379/0 scripts/bench auth [--requests 2000] [--rounds 5]

Copies of the application, each built by `create_app(settings)` with its own engine and Redis
client, serve `GET /api/v1/tickets/{id}` in-process (httpx ASGI transport, so HTTP parsing does
not dilute the difference), one request at a time:

* with: the real API key authentication and per-key rate limiting;
* auth-only: the same with the app's rate limiter off (shown only while the app keeps it in
  `app.state.services.rate_limiter`);
* without: `get_principal` overridden (FastAPI dependency_overrides) with the principal the
  `with` app resolved for the key, and the rate limiter off.

The ticket is read once before measuring, so every measured GET is a ticket-cache hit (Redis keys
under a random prefix, deleted at the end). Rounds alternate between the copies so drift affects
all. It creates one agent and API key (`helpline users create`), like scripts/bench; nothing else
is written. A report, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import time
from typing import Any

import httpx

from helpline.app import create_app
from helpline.auth.dependencies import get_principal, get_principal_for_cached_read
from helpline.auth.permissions import ROLE_SCOPES
from helpline.auth.principal import Principal
from helpline.config import Settings, load_settings
from helpline.db.route import request_work
from helpline.models.enums import Role
from helpline.runtime import make_redis
from scripts.lib import benchkit


async def timed(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], n: int
) -> tuple[float, float]:
    """Wall and CPU seconds per request (CPU: this process, i.e. the app plus the client)."""
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        r = await client.get(path, headers=headers)
        if r.status_code != 200:
            raise SystemExit(f"unexpected {r.status_code}: {r.text[:200]}")
    return (time.perf_counter() - started) / n, (time.process_time() - cpu) / n


def create_agent_key(database_url: str, email: str) -> str:
    """An agent (sees every ticket) and its API key, through the CLI as an operator would."""
    done = subprocess.run(
        [str(benchkit.HELPLINE), "users", "create", "--role", "agent",
         "--email", email, "--key-name", "bench-auth"],
        env={**os.environ, "HELPLINE_DATABASE_URL": database_url}, capture_output=True,
        text=True, check=False, cwd=benchkit.REPO,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"bench auth: could not create the agent: {done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1]


async def ticket_and_user(database_url: str, email: str) -> tuple[str, Any]:
    import asyncpg

    from helpline.seed.loader import connect_kwargs

    conn = await asyncpg.connect(**connect_kwargs(database_url))
    try:
        ticket = await conn.fetchval(
            "SELECT id::text FROM tickets WHERE deleted_at IS NULL LIMIT 1"
        )
        user_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", email)
    finally:
        await conn.close()
    if ticket is None:
        raise SystemExit("bench auth: the database has no tickets: seed it first")
    return ticket, user_id


class CapturePrincipal:
    """ASGI wrapper that keeps the principal the app put on the request's unit of work."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.principal: Principal | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        inner = {**scope, "state": {}}
        await self.app(inner, receive, send)
        work = request_work(inner)  # the request's unit of work holds the principal
        if work is not None and isinstance(work.principal, Principal):
            self.principal = work.principal


def limiter_off(app: Any) -> Any:
    """Switch the app's rate limiter off; returns it (to restore), or None if there is none."""
    limiter = app.state.services.rate_limiter
    if limiter is not None:
        app.state.services.rate_limiter = None
    return limiter


async def measure(args: argparse.Namespace) -> None:
    base = load_settings()
    if base.database_url is None or base.redis_url is None:
        raise SystemExit("set HELPLINE_DATABASE_URL and HELPLINE_REDIS_URL")
    window = (args.rounds * args.requests + 1000) * 2  # just above what the run sends
    settings: Settings = base.model_copy(
        update={
            "redis_key_prefix": f"bench-auth-{secrets.token_hex(4)}",
            "access_log": False,
            # a realistic window (a moving window keeps one entry per allowed request, so an
            # absurd limit would only measure list growth)
            "default_rate_limit_per_minute": window,
        }
    )
    email = f"bench-auth-{secrets.token_hex(4)}@example.com"
    key = create_agent_key(base.database_url, email)
    ticket_id, user_id = await ticket_and_user(base.database_url, email)
    path = f"/api/v1/tickets/{ticket_id}"
    headers = {"Authorization": f"Bearer {key}"}

    apps = {name: create_app(settings) for name in ("with", "auth-only", "without")}
    capture = CapturePrincipal(apps["with"])
    async with (
        apps["with"].router.lifespan_context(apps["with"]),
        apps["auth-only"].router.lifespan_context(apps["auth-only"]),
        apps["without"].router.lifespan_context(apps["without"]),
    ):
        limiters = {name: limiter_off(apps[name]) for name in ("auth-only", "without")}
        measured: dict[str, Any] = {**apps, "with": capture}
        if limiters["auth-only"] is None:
            del measured["auth-only"]  # no separate limiter to switch off
        clients = {
            name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b")
            for name, app in measured.items()
        }
        await timed(clients["with"], path, headers, 1)
        principal = capture.principal or Principal(
            user_id=user_id, role=Role.agent, scopes=ROLE_SCOPES[Role.agent]
        )
        apps["without"].dependency_overrides[get_principal] = lambda: principal
        apps["without"].dependency_overrides[get_principal_for_cached_read] = lambda: principal

        def creds(name: str) -> dict[str, str]:
            return {} if name == "without" else headers

        for name, client in clients.items():  # warm-up: the ticket is cached from here on
            await timed(client, path, creds(name), 200)
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
        for _ in range(args.rounds):
            for name, client in clients.items():
                results[name].append(await timed(client, path, creds(name), args.requests))
        for client in clients.values():
            await client.aclose()
        for name, limiter in limiters.items():
            if limiter is not None:
                apps[name].state.services.rate_limiter = limiter  # closed by its lifespan
    redis = make_redis(settings)
    keys = [k async for k in redis.scan_iter(match=f"{settings.redis_key_prefix}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()

    print(f"endpoint: GET /api/v1/tickets/{{id}}, cached ({args.rounds} rounds x {args.requests})")
    print(f"principal injected: {'as resolved by the app' if capture.principal else 'built here'}")
    print("medians of rounds, µs/request:        wall      CPU")
    labels = {
        "without": "without auth + rate limit",
        "auth-only": "with auth, no rate limit",
        "with": "with auth + rate limit",
    }
    medians = {}
    for name in ("without", "auth-only", "with"):
        if name in results:
            wall = statistics.median(w for w, _ in results[name]) * 1e6
            cpu = statistics.median(c for _, c in results[name]) * 1e6
            medians[name] = (wall, cpu)
            print(f"  {labels[name]:<33} {wall:8.1f} {cpu:8.1f}")
    for i, what in enumerate(("wall", "CPU")):
        extra = medians["with"][i] - medians["without"][i]
        print(
            f"overhead ({what}): {extra:.1f} µs = {100 * extra / medians['without'][i]:.1f} %"
            "  (target ≤ 20 %)"
        )
    print("(wall time counts every round trip's wait; on a busy machine trust the CPU figure)")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per round and side")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    asyncio.run(measure(parser.parse_args(argv)))
