"""The floor app `scripts/bench` measures Helpline's GET ticket against.

Bare Starlette + asyncpg + redis-py (asyncio), served by uvicorn with the same flags as the
service. It does the same round trips as `GET /api/v1/tickets/{id}` with an API key and nothing
else — no validation layers, no middleware, no ORM — so its req/s is the floor of what those round
trips cost in Python on this machine:

* `/floor/tickets/{id}` (uncached principal): the key's row looked up by its HMAC-SHA256 hash in
  PostgreSQL, then ONE Redis pipeline (a fixed-window rate-limit INCR + EXPIRE, and GET of the
  cached body), and on a cache miss the ticket row with its metadata object from PostgreSQL,
  serialized with json and SET into Redis.
* `/floor/cached/tickets/{id}`: the principal kept in an in-process dict after its first lookup,
  so a cache hit is exactly one Redis round trip and no PostgreSQL; a miss reads the row and SETs.

Settings (environment): HELPLINE_DATABASE_URL, HELPLINE_REDIS_URL, HELPLINE_API_KEY_PEPPER
(default: the development pepper, as the service), FLOOR_REDIS_PREFIX (keys expire on their own),
HELPLINE_DB_POOL_SIZE (default 20, as the service).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import redis.asyncio as redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from helpline.auth.keys import hash_key, is_well_formed
from helpline.config import DEFAULT_API_KEY_PEPPER

PEPPER = os.environ.get("HELPLINE_API_KEY_PEPPER", DEFAULT_API_KEY_PEPPER).encode()
PREFIX = os.environ.get("FLOOR_REDIS_PREFIX", "bench-floor")
BODY_TTL_S = 300
DEFAULT_LIMIT = int(os.environ.get("HELPLINE_DEFAULT_RATE_LIMIT_PER_MINUTE", "600"))

KEY_SQL = (
    "SELECT k.id, k.user_id, k.scopes, k.rate_limit_per_minute, k.expires_at, k.revoked_at, "
    "u.role, u.is_active FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1"
)
TICKET_SQL = (
    "SELECT t.id, t.title, t.description, t.status, t.priority, t.created_at, t.updated_at, "
    "t.assigned_to, t.customer_id, t.version, "
    "(SELECT coalesce(jsonb_object_agg(m.key, m.value), '{}'::jsonb) FROM ticket_metadata m "
    "WHERE m.ticket_id = t.id) AS metadata "
    "FROM tickets t WHERE t.id = $1 AND t.deleted_at IS NULL"
)

UNAUTHORIZED = Response(b'{"status":401}', 401, media_type="application/problem+json")
NOT_FOUND = Response(b'{"status":404}', 404, media_type="application/problem+json")
TOO_MANY = Response(b'{"status":429}', 429, media_type="application/problem+json")


class Principal:
    __slots__ = ("key_id", "limit", "role", "user_id")

    def __init__(self, row: asyncpg.Record) -> None:
        self.key_id: str = str(row["id"])
        self.user_id: str = str(row["user_id"])
        self.role: str = row["role"]
        self.limit: int = row["rate_limit_per_minute"] or DEFAULT_LIMIT


principals: dict[bytes, Principal] = {}  # the cached route's in-process principal cache
body_cache = {"hit": 0, "miss": 0}  # per process, served by /floor/stats


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def lookup_key(pool: asyncpg.Pool, key_hash: bytes) -> Principal | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(KEY_SQL, key_hash)
    now = datetime.now(UTC)
    if (
        row is None
        or row["revoked_at"] is not None
        or (row["expires_at"] is not None and row["expires_at"] <= now)
        or not row["is_active"]
    ):
        return None
    return Principal(row)


def bearer_hash(request: Request) -> bytes | None:
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        return None
    key = header[7:]
    return hash_key(PEPPER, key) if is_well_formed(key) else None


def render(row: asyncpg.Record) -> bytes:
    return json.dumps(
        {
            "id": str(row["id"]),
            "title": row["title"],
            "description": row["description"],
            "status": row["status"],
            "priority": row["priority"],
            "created_at": row["created_at"].isoformat(),
            "updated_at": row["updated_at"].isoformat(),
            "assigned_to": None if row["assigned_to"] is None else str(row["assigned_to"]),
            "customer_id": str(row["customer_id"]),
            "version": row["version"],
            "metadata": row["metadata"],
        },
        separators=(",", ":"),
    ).encode()


async def serve_ticket(request: Request, principal: Principal) -> Response:
    try:
        ticket_id = uuid.UUID(request.path_params["ticket_id"])
    except ValueError:
        return NOT_FOUND
    state = request.app.state
    window = int(time.time() // 60)
    rate_key = f"{PREFIX}:rl:{principal.key_id}:{window}"
    body_key = f"{PREFIX}:t:{ticket_id}"
    pipe = state.redis.pipeline(transaction=False)
    pipe.incr(rate_key)
    pipe.expire(rate_key, 60)
    pipe.get(body_key)
    count, _, body = await pipe.execute()
    if count > principal.limit:
        return TOO_MANY
    if body is not None:
        body_cache["hit"] += 1
    else:
        body_cache["miss"] += 1
        async with state.pool.acquire() as conn:
            row = await conn.fetchrow(TICKET_SQL, ticket_id)
        if row is None:
            return NOT_FOUND
        body = render(row)
        await state.redis.set(body_key, body, ex=BODY_TTL_S)
    return Response(body, media_type="application/json")


async def uncached(request: Request) -> Response:
    key_hash = bearer_hash(request)
    principal = None if key_hash is None else await lookup_key(request.app.state.pool, key_hash)
    if principal is None:
        return UNAUTHORIZED
    return await serve_ticket(request, principal)


async def cached(request: Request) -> Response:
    key_hash = bearer_hash(request)
    if key_hash is None:
        return UNAUTHORIZED
    principal = principals.get(key_hash)
    if principal is None:
        principal = await lookup_key(request.app.state.pool, key_hash)
        if principal is None:
            return UNAUTHORIZED
        principals[key_hash] = principal
    return await serve_ticket(request, principal)


async def ping(request: Request) -> Response:
    return Response(b'{"status":"ok","service":"floor"}', media_type="application/json")


async def stats(request: Request) -> Response:
    return Response(json.dumps(body_cache).encode(), media_type="application/json")


async def init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    size = int(os.environ.get("HELPLINE_DB_POOL_SIZE", "20"))
    app.state.pool = await asyncpg.create_pool(
        asyncpg_dsn(os.environ["HELPLINE_DATABASE_URL"]),
        min_size=size,
        max_size=size,
        init=init_connection,
        server_settings={"application_name": "helpline-floor", "jit": "off"},
    )
    app.state.redis = redis.Redis.from_url(
        os.environ.get("HELPLINE_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    try:
        yield
    finally:
        await app.state.redis.aclose()
        await app.state.pool.close()


routes: list[Any] = [
    Route("/ping", ping),
    Route("/floor/stats", stats),
    Route("/floor/tickets/{ticket_id}", uncached),
    Route("/floor/cached/tickets/{ticket_id}", cached),
]
app = Starlette(routes=routes, lifespan=lifespan)
