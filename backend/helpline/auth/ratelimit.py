"""Rate limiting: a moving window (`limits`) on Redis, shared exactly by every worker and process.

Identities: an API key (its own limit or the default), a session user, or the client IP when no
credentials are presented. If Redis fails, a per-process in-memory limiter takes over for a short
while (logged once per outage, counted in ``fallback_count``); a Redis problem never becomes a 5xx.
Every response carries the IETF draft headers ``RateLimit-Policy`` and ``RateLimit``.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from limits import RateLimitItemPerMinute
from limits.aio.storage import (
    MemoryStorage,
    RedisClusterStorage,
    RedisSentinelStorage,
    RedisStorage,
)
from limits.aio.strategies import MovingWindowRateLimiter

from helpline.config import Settings
from helpline.errors import RateLimited
from helpline.kit import roundtrip
from helpline.kit.redis_client import parse_redis_url

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
        """The 429, carrying the headers of the policy that refused it."""
        retry = str(max(1, self.reset_after))
        headers = {"Retry-After": retry}
        headers.update((k.decode(), v.decode()) for k, v in self.header_pairs())
        refused = RateLimited(
            f"Rate limit of {self.limit} requests per minute exceeded; retry in {retry} s.",
            headers=headers,
        )
        refused.result = self
        return refused


def policy_for(principal: Any, default_limit: int) -> tuple[str, str, int]:
    """The (policy, identity, limit) a principal's requests count against: its key's own limit
    (or the default), or — for a session — its user's."""
    limit = principal.rate_limit_per_minute or default_limit
    if principal.api_key_id is not None:
        return "api-key", str(principal.api_key_id), limit
    return "user", str(principal.user_id), limit


class RateLimiter:
    """Moving-window limiter with a per-process fallback.

    On Redis, one hit is ``limits``' own two Lua scripts (acquire, then read the window for the
    headers) sent by SHA in one pipeline — and other calls of the same request may ride along in
    that pipeline (:meth:`deferred`), so that a cache-hit read costs one round trip in all.
    """

    def __init__(self, primary: RedisStorage | None, client: Any = None) -> None:
        self._primary = MovingWindowRateLimiter(primary) if primary is not None else None
        self._fallback = MovingWindowRateLimiter(MemoryStorage())
        self._client = client
        self._down_until = 0.0
        self.fallback_count = 0
        self.timeout_s = 1.0
        bridge: Any = primary.bridge if primary is not None else None  # limits' redis-py bridge
        self._bridge = bridge
        if bridge is not None:
            self._acquire = roundtrip.Script(bridge.lua_acquire_moving_window.script)
            self._read = roundtrip.Script(bridge.lua_moving_window.script)

    @classmethod
    def for_app(cls, settings: Settings, connection_pool: Any = None) -> RateLimiter:
        """Redis-backed when a Redis URL is configured; in-memory for the in-process stand-in.

        The limiter has its own client: its timeout is longer than the cache's, because under a
        burst the event loop itself delays replies, and a spurious fallback would make the
        limit per-process instead of exact.
        """
        if settings.redis_url is None:
            return cls(None)
        timeout = settings.rate_limit_redis_timeout_s
        key_prefix = f"{settings.redis_key_prefix}:limits"
        kind = parse_redis_url(settings.redis_url).kind
        if kind != "single":  # limits' own storage for the topology, with our timeouts
            topology: type[RedisStorage] = (
                RedisClusterStorage if kind == "cluster" else RedisSentinelStorage
            )
            topology_storage = topology(
                settings.redis_url,
                implementation="redispy",
                key_prefix=key_prefix,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
            )
            limiter = cls(topology_storage)
            limiter.timeout_s = timeout
            return limiter
        client = None
        if connection_pool is None:
            import redis.asyncio as aioredis

            client = aioredis.from_url(
                settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
            connection_pool = client.connection_pool
        storage = RedisStorage(
            settings.redis_url,
            implementation="redispy",
            key_prefix=key_prefix,
            connection_pool=connection_pool,
        )
        limiter = cls(storage, client)
        limiter.timeout_s = timeout
        return limiter

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    @property
    def redis_configured(self) -> bool:
        return self._primary is not None

    @property
    def uses_redis(self) -> bool:
        """True while hits go to Redis (configured, and not in a fallback period)."""
        return self._primary is not None and time.monotonic() >= self._down_until

    @property
    def redis(self) -> Any:
        return self._bridge.storage if self._bridge is not None else None

    def calls(self, policy: str, identity: str, limit: int, cost: int = 1) -> list[roundtrip.Call]:
        """The Redis calls of one hit (``cost`` requests at once): acquire (exact under
        concurrency), then read the window."""
        key, expiry = self._key(policy, identity, limit)
        now = time.time()
        return [
            self._acquire.call([key], [now, limit, expiry, cost]),
            self._read.call([key], [now - expiry, limit]),
        ]

    @functools.lru_cache(maxsize=4096)  # noqa: B019 — one limiter per app, bounded
    def _key(self, policy: str, identity: str, limit: int) -> tuple[str, int]:
        """The window's Redis key as `limits` names it, and its length (built once per caller)."""
        item = RateLimitItemPerMinute(limit)
        return self._bridge.prefixed_key(item.key_for(policy, identity)), item.get_expiry()

    @staticmethod
    def result(policy: str, limit: int, acquired: Any, window: Any) -> RateLimitResult:
        now = time.time()
        oldest, count = (float(window[0]), int(window[1])) if window else (now, 0)
        reset_after = max(0, math.ceil(oldest + WINDOW_SECONDS - now))
        return RateLimitResult(
            policy=policy,
            limit=limit,
            remaining=max(0, limit - count),
            reset_after=min(reset_after, WINDOW_SECONDS),
            allowed=bool(acquired),
        )

    def storage_failed(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + BREAKER_SECONDS
        log.warning(
            "rate limiter storage unavailable; using the per-process fallback",
            error=type(exc).__name__,
        )

    async def hit(self, policy: str, identity: str, limit: int, cost: int = 1) -> RateLimitResult:
        """Count ``cost`` requests (one, unless an operation weighs more) of ``identity``
        against ``limit`` per minute."""
        return (await self.hit_with(policy, identity, limit, [], cost=cost))[0]

    async def hit_with(
        self,
        policy: str,
        identity: str,
        limit: int,
        extra: list[roundtrip.Call],
        *,
        cost: int = 1,
    ) -> tuple[RateLimitResult, list[Any] | None]:
        """A hit with ``extra`` calls in the same round trip: their answers, or None when Redis
        could not be used (the hit then went to the per-process fallback)."""
        if self.uses_redis:
            calls = self.calls(policy, identity, limit, cost) + extra
            try:
                if self._client is not None:  # our own client: its sockets time out
                    answers = await roundtrip.execute(self.redis, calls)
                else:
                    async with asyncio.timeout(self.timeout_s):
                        answers = await roundtrip.execute(self.redis, calls)
            except Exception as exc:  # any storage failure: degrade, never fail the request
                self.storage_failed(exc)
            else:
                return self.result(policy, limit, answers[0], answers[1]), answers[2:]
        return await self.hit_fallback(policy, identity, limit, cost), None

    async def hit_fallback(
        self, policy: str, identity: str, limit: int, cost: int = 1
    ) -> RateLimitResult:
        if self._primary is not None:
            self.fallback_count += 1
        item = RateLimitItemPerMinute(limit)
        allowed = await self._fallback.hit(item, policy, identity, cost=cost)
        stats = await self._fallback.get_window_stats(item, policy, identity)
        reset_after = max(0, math.ceil(stats.reset_time - time.time()))
        return RateLimitResult(
            policy=policy,
            limit=limit,
            remaining=max(0, stats.remaining),
            reset_after=min(reset_after, WINDOW_SECONDS),
            allowed=allowed,
        )

    def deferred(
        self, policy: str, identity: str, limit: int, done: Callable[[RateLimitResult], None]
    ) -> roundtrip.Deferred:
        """A hit that waits for the request's next Redis round trip (see :mod:`kit.roundtrip`).

        ``done`` receives the result (for the headers); a refused hit raises 429 where the round
        trip happens, before its other answers are used.
        """

        async def resolve(answers: list[Any]) -> None:
            outcome = self.result(policy, limit, answers[0], answers[1])
            done(outcome)
            if not outcome.allowed:
                raise outcome.exceeded()

        async def fallback(exc: BaseException) -> None:
            self.storage_failed(exc)
            outcome = await self.hit_fallback(policy, identity, limit)
            done(outcome)
            if not outcome.allowed:
                raise outcome.exceeded()

        return roundtrip.Deferred(
            calls=self.calls(policy, identity, limit),
            resolve=resolve,
            fallback=fallback,
            redis=self.redis,
            timeout_s=self.timeout_s,
            socket_bounded=self._client is not None,
        )
