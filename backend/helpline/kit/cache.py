"""Domain-free cache backend: Redis behind short timeouts and a circuit breaker.

Every Redis call of a cache goes through :meth:`CacheBackend.run`. When Redis is slow or down the
call fails fast with :class:`CacheUnavailable` and the caller reads from PostgreSQL instead; after
a few consecutive failures the breaker opens and Redis is not even tried until a probe succeeds.

Undelivered invalidations (a write committed while Redis could not be reached) set a flag; the
first successful call afterwards replaces the namespace *epoch* — a random token every cached
value is stamped with — so everything cached before the outage becomes a miss at once (ADR 0006).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from enum import IntEnum
from typing import Any, TypeVar

from redis.exceptions import RedisError

from helpline.kit.metrics import REGISTRY, Labels

T = TypeVar("T")

CACHE_REQUESTS = REGISTRY.counter(
    "helpline_cache_requests_total", "Cache lookups by cache and result (hit, miss, bypass)."
)
CACHE_ERRORS = REGISTRY.counter(
    "helpline_cache_errors_total", "Redis calls of a cache that failed or timed out."
)
CACHE_SKIPPED = REGISTRY.counter(
    "helpline_cache_skipped_total", "Redis calls not attempted because the breaker was open."
)
CACHE_SETS = REGISTRY.counter(
    "helpline_cache_sets_total", "Cache fills by cache and outcome (stored, rejected)."
)
CACHE_INVALIDATIONS = REGISTRY.counter(
    "helpline_cache_invalidations_total", "After-commit invalidations by outcome."
)
EPOCH_BUMPS = REGISTRY.counter(
    "helpline_cache_epoch_bumps_total", "Namespace epoch replacements after lost invalidations."
)


class CacheUnavailable(Exception):
    """Redis could not be used for this call (timeout, error, or breaker open)."""

    def __init__(self, reason: str, *, tried: bool = True) -> None:
        super().__init__(reason)
        self.tried = tried  # False: the breaker was open and Redis was not even asked


class BreakerState(IntEnum):
    closed = 0
    open = 1
    half_open = 2


class CircuitBreaker:
    """Opens after ``failure_threshold`` consecutive failures; one probe after ``reset_after_s``."""

    def __init__(
        self,
        failure_threshold: int = 3,
        reset_after_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self.clock = clock
        self.state = BreakerState.closed
        self.failures = 0
        self.opened_at = 0.0
        self._probing = False

    def allow(self) -> bool:
        if self.state is BreakerState.closed:
            return True
        if self.state is BreakerState.open:
            if self.clock() - self.opened_at < self.reset_after_s:
                return False
            self.state = BreakerState.half_open
            self._probing = False
        if self._probing:  # half-open: exactly one probe at a time
            return False
        self._probing = True
        return True

    def success(self) -> None:
        self.state = BreakerState.closed
        self.failures = 0
        self._probing = False

    def failure(self) -> None:
        self.failures += 1
        self._probing = False
        if self.state is BreakerState.half_open or self.failures >= self.failure_threshold:
            self.state = BreakerState.open
            self.opened_at = self.clock()


_BACKENDS: list[CacheBackend] = []


def _breaker_states() -> dict[Labels, float]:
    if not _BACKENDS:
        return {}
    return {(("backend", "redis"),): float(_BACKENDS[-1].breaker.state)}


REGISTRY.gauge(
    "helpline_cache_breaker_state",
    "Circuit breaker of the Redis cache: 0 closed, 1 open, 2 half-open.",
    callback=_breaker_states,
)


# Writers announce committed changes on this channel of the cache namespace (after the
# invalidation, in its MULTI); each process's feed watcher listens (helpline.events.live).
FEED_CHANNEL = "feed"


def feed_channel(redis_key_prefix: str) -> str:
    """The full name of the feed channel for a key prefix (``CacheBackend.key(FEED_CHANNEL)``)."""
    return f"{{{redis_key_prefix}:cache}}:{FEED_CHANNEL}"


def presence_channel(redis_key_prefix: str) -> str:
    """The channel presence changes are announced on (helpline.presence)."""
    return f"{{{redis_key_prefix}:cache}}:presence"


class CacheBackend:
    """One process's view of the cache namespace in Redis."""

    def __init__(
        self,
        redis: Any,
        *,
        prefix: str,
        op_timeout_s: float = 0.3,
        breaker: CircuitBreaker | None = None,
        settings: Any = None,
    ) -> None:
        self.redis = redis
        self.settings = settings  # opaque to the kit: domain caches read their options here
        # One hash tag for the whole namespace: the scripts read the epoch with a ticket's or a
        # list's keys, and invalidation is one MULTI; a Redis Cluster allows both in one slot.
        self.prefix = f"{{{prefix}:cache}}"
        self.op_timeout_s = op_timeout_s
        self.breaker = breaker or CircuitBreaker()
        self.epoch_key = self.key("epoch")
        self.extensions: dict[str, Any] = {}
        self._lost_invalidations = False
        # A client whose sockets time out within the op timeout needs no asyncio timer per call
        # (one per request was measurable); the in-process stand-in has no sockets.
        kwargs = getattr(getattr(redis, "connection_pool", None), "connection_kwargs", None) or {}
        socket_timeout: float | None = kwargs.get("socket_timeout")
        self._socket_bounded = socket_timeout is not None and 0 < socket_timeout <= op_timeout_s

    def key(self, *parts: object) -> str:
        return ":".join([self.prefix, *(str(p) for p in parts)])

    def script(self, source: str) -> Any:
        return self.redis.register_script(source)

    @staticmethod
    def token() -> str:
        """A fresh value for leases and generations: unique, not secret (nothing is granted by
        knowing one), so not worth a system call per request. CPython reseeds ``random`` in a
        forked child."""
        return f"{random.getrandbits(64):016x}"  # nosec B311: not a secret

    def extension(self, name: str, factory: Callable[[CacheBackend], T]) -> T:
        """A per-backend helper (e.g. a domain cache with its single-flight table)."""
        if name not in self.extensions:
            self.extensions[name] = factory(self)
        value: T = self.extensions[name]
        return value

    async def run(
        self,
        cache: str,
        op: Callable[[], Awaitable[T]],
        *,
        invalidation: bool = False,
        timeout_s: float | None = None,
        bounded: bool = False,
    ) -> T:
        """Run one Redis operation within the timeout and the breaker, or raise CacheUnavailable."""
        if not self.breaker.allow():
            CACHE_SKIPPED.inc(cache=cache)
            if invalidation:
                self._lost_invalidations = True
            raise CacheUnavailable("circuit open", tried=False)
        try:
            if bounded or (self._socket_bounded and timeout_s is None):
                result = await self._run(op)  # the client's socket timeouts bound every read
            else:
                async with asyncio.timeout(timeout_s or self.op_timeout_s):
                    result = await self._run(op)
        except (RedisError, OSError, TimeoutError) as exc:
            self.breaker.failure()
            CACHE_ERRORS.inc(cache=cache)
            if invalidation:
                self._lost_invalidations = True
            raise CacheUnavailable(type(exc).__name__) from exc
        self.breaker.success()
        return result

    async def _run(self, op: Callable[[], Awaitable[T]]) -> T:
        if self._lost_invalidations:
            await self.redis.set(self.epoch_key, self.token())
            self._lost_invalidations = False
            EPOCH_BUMPS.inc()
        return await op()

    @property
    def has_lost_invalidations(self) -> bool:
        return self._lost_invalidations


def register(backend: CacheBackend) -> None:
    """Report ``backend``'s breaker in the metrics gauge (the latest one registered)."""
    _BACKENDS.append(backend)


def unregister(backend: CacheBackend) -> None:
    if backend in _BACKENDS:
        _BACKENDS.remove(backend)


class SingleFlight:
    """At most one concurrent computation per key in this process; others await its result."""

    def __init__(self) -> None:
        self._calls: dict[str, asyncio.Future[Any]] = {}

    async def do(self, key: str, fn: Callable[[], Awaitable[T]]) -> T:
        running = self._calls.get(key)
        if running is not None:
            try:
                shared: T = await asyncio.shield(running)
                return shared
            except Exception:  # the leader failed: compute on our own
                return await fn()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._calls[key] = future
        try:
            result = await fn()
        except BaseException as exc:
            future.set_exception(
                exc if isinstance(exc, Exception) else CacheUnavailable("cancelled")
            )
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._calls[key]


def open_backend(redis: Any, settings: Any) -> CacheBackend | None:
    """The process's cache backend built from settings (None when caching is switched off)."""
    if not settings.cache_enabled:
        return None
    backend = CacheBackend(
        redis,
        prefix=settings.redis_key_prefix,
        op_timeout_s=settings.cache_op_timeout_ms / 1000,
        breaker=CircuitBreaker(settings.cache_breaker_failures, settings.cache_breaker_reset_s),
        settings=settings,
    )
    register(backend)
    return backend


def close_backend(backend: CacheBackend | None) -> None:
    if backend is not None:
        unregister(backend)
