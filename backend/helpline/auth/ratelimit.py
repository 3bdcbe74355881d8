"""Rate limiting: a moving window (`limits`) on Redis, shared exactly by every worker and process.

Identities: an API key (its own limit or the default), a session user, or the client IP when no
credentials are presented. If Redis fails, a per-process in-memory limiter takes over for a short
while (logged once per outage, counted in ``fallback_count``); a Redis problem never becomes a 5xx.
Every response carries the IETF draft headers ``RateLimit-Policy`` and ``RateLimit``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, cast

import structlog
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.exceptions import NoScriptError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpline.config import Settings
from helpline.errors import RateLimited
from helpline.http import problem_json_bytes

log = structlog.get_logger("helpline.ratelimit")

WINDOW_SECONDS = 60
BREAKER_SECONDS = 5.0  # how long to stay on the fallback before trying Redis again


@dataclass(frozen=True, slots=True)
class RateLimitResult:
    policy: str
    limit: int
    remaining: int
    reset_after: int
    allowed: bool

    def header_pairs(self) -> list[tuple[bytes, bytes]]:
        """`RateLimit-Policy` and `RateLimit` as structured fields (httpapi draft)."""
        return [
            (b"ratelimit-policy", f'"{self.policy}";q={self.limit};w={WINDOW_SECONDS}'.encode()),
            (b"ratelimit", f'"{self.policy}";r={self.remaining};t={self.reset_after}'.encode()),
        ]

    def exceeded(self) -> RateLimited:
        retry = str(max(1, self.reset_after))
        return RateLimited(
            f"Rate limit of {self.limit} requests per minute exceeded; retry in {retry} s.",
            headers={"Retry-After": retry},
        )


class RateLimiter:
    """Moving-window limiter with a per-process fallback."""

    def __init__(self, primary: RedisStorage | None, client: Any = None) -> None:
        self._primary = MovingWindowRateLimiter(primary) if primary is not None else None
        self._fallback = MovingWindowRateLimiter(MemoryStorage())
        self._client = client
        self._down_until = 0.0
        self.fallback_count = 0

    @classmethod
    def for_app(cls, settings: Settings, connection_pool: Any = None) -> RateLimiter:
        """Redis-backed when a Redis URL is configured; in-memory for the in-process stand-in.

        The limiter has its own client: its timeout is longer than the cache's, because under a
        burst the event loop itself delays replies, and a spurious fallback would make the
        limit per-process instead of exact.
        """
        if settings.redis_url is None:
            return cls(None)
        client = None
        if connection_pool is None:
            import redis.asyncio as aioredis

            timeout = settings.rate_limit_redis_timeout_s
            client = aioredis.from_url(
                settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
            connection_pool = client.connection_pool
        storage = RedisStorage(
            settings.redis_url,
            implementation="redispy",
            key_prefix=f"{settings.redis_key_prefix}:limits",
            connection_pool=connection_pool,
        )
        return cls(storage, client)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def hit(self, policy: str, identity: str, limit: int) -> RateLimitResult:
        """Count one request of ``identity`` against ``limit`` per minute."""
        if self._primary is not None and time.monotonic() >= self._down_until:
            try:
                return await self._hit_redis(self._primary, policy, identity, limit)
            except Exception as exc:  # any storage failure: degrade, never fail the request
                self._down_until = time.monotonic() + BREAKER_SECONDS
                log.warning(
                    "rate limiter storage unavailable; using the per-process fallback",
                    error=type(exc).__name__,
                )
        if self._primary is not None:
            self.fallback_count += 1
        return await self._hit(self._fallback, policy, identity, limit)

    @staticmethod
    async def _hit_redis(
        limiter: MovingWindowRateLimiter, policy: str, identity: str, limit: int
    ) -> RateLimitResult:
        """Acquire and read the window in one round trip: limits' own two Lua scripts, pipelined.

        The acquire script is what makes the limit exact under concurrency; the read that follows
        on the same connection only feeds the headers. The scripts are sent by SHA: a pipeline of
        redis-py Script objects would first ask SCRIPT EXISTS, an extra round trip per request.
        """
        item = RateLimitItemPerMinute(limit)
        bridge: Any = cast(RedisStorage, limiter.storage).bridge  # limits' redis-py bridge
        key = bridge.prefixed_key(item.key_for(policy, identity))
        now = time.time()
        expiry = item.get_expiry()
        acquire, read = bridge.lua_acquire_moving_window, bridge.lua_moving_window

        async def run() -> list[Any]:
            async with bridge.storage.pipeline(transaction=False) as pipe:
                pipe.evalsha(acquire.sha, 1, key, now, limit, expiry, 1)
                pipe.evalsha(read.sha, 1, key, now - expiry, limit)
                return cast(list[Any], await pipe.execute())

        try:
            acquired, window = await run()
        except NoScriptError:  # first use on this server, or after SCRIPT FLUSH / a restart
            for script in (acquire, read):
                await bridge.storage.script_load(script.script)
            acquired, window = await run()
        oldest, count = (float(window[0]), int(window[1])) if window else (now, 0)
        reset_after = max(0, math.ceil(oldest + expiry - time.time()))
        return RateLimitResult(
            policy=policy,
            limit=limit,
            remaining=max(0, limit - count),
            reset_after=min(reset_after, WINDOW_SECONDS),
            allowed=bool(acquired),
        )

    @staticmethod
    async def _hit(
        limiter: MovingWindowRateLimiter, policy: str, identity: str, limit: int
    ) -> RateLimitResult:
        item = RateLimitItemPerMinute(limit)
        allowed = await limiter.hit(item, policy, identity)
        stats = await limiter.get_window_stats(item, policy, identity)
        reset_after = max(0, math.ceil(stats.reset_time - time.time()))
        return RateLimitResult(
            policy=policy,
            limit=limit,
            remaining=max(0, stats.remaining),
            reset_after=min(reset_after, WINDOW_SECONDS),
            allowed=allowed,
        )


def client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class RateLimitMiddleware:
    """Limits requests without credentials per IP up front; adds the headers to every response.

    Requests with credentials are limited per key or user by the authentication dependency,
    which stores its result in ``request.state.rate_limit``. A credentialed request that fails
    before that (bad key, unknown route) is counted against its IP once its response is decided
    (so the 401 itself needs no I/O), and a flood of them turns into 429s.
    """

    def __init__(self, app: ASGIApp, *, session_cookie_name: str) -> None:
        self.app = app
        self.cookie_marker = session_cookie_name.encode() + b"="

    def _has_credentials(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name in (b"authorization", b"x-api-key"):
                return True
            if name == b"cookie" and self.cookie_marker in value:
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter: RateLimiter | None = None
        if scope["type"] == "http":
            limiter = getattr(scope["app"].state, "rate_limiter", None)
        if limiter is None:
            await self.app(scope, receive, send)
            return
        settings: Settings = scope["app"].state.settings
        state = scope.setdefault("state", {})
        ip = client_ip(scope)
        anonymous_limit = settings.anonymous_rate_limit_per_minute
        if not self._has_credentials(scope):
            result = await limiter.hit("anonymous", ip, anonymous_limit)
            state["rate_limit"] = result
            # Probes are counted (and get the headers) but never refused: a busy load balancer
            # must not take a healthy instance out of rotation.
            if not result.allowed and not scope["path"].startswith("/health/"):
                await self._send_429(result, scope, state, send)
                return

        replaced = False

        async def send_with_headers(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start":
                result = state.get("rate_limit")
                if result is None:  # credentials that failed (or no route): the IP pays
                    result = await limiter.hit("anonymous", ip, anonymous_limit)
                    if not result.allowed:
                        replaced = True
                        await self._send_429(result, scope, state, send)
                        return
                message["headers"] = [*message.get("headers", []), *result.header_pairs()]
            elif replaced:
                return
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    async def _send_429(
        result: RateLimitResult, scope: Scope, state: dict[str, Any], send: Send
    ) -> None:
        exc = result.exceeded()
        body = problem_json_bytes(exc, instance=scope["path"], request_id=state.get("request_id"))
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", exc.headers["Retry-After"].encode()),
            *result.header_pairs(),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
