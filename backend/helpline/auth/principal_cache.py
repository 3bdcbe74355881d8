"""In-process cache of resolved principals, kept honest by a Redis generation counter.

Resolving an API key costs a PostgreSQL round trip; on a hot path that is most of a request. So a
process keeps what it resolved (keyed by the key's peppered hash, never the secret) for at most
``ttl_s``. Every change that can take access away or alter it — revocation, rotation, a scope or
limit change, a role change, deactivation — bumps one Redis counter after its commit. A process
reads that counter at most every ``check_interval_s`` (piggybacked on a request's rate-limit round
trip, so it costs no extra trip), and an entry is used only while:

* it was stored under the generation the process last saw, and
* that generation was read less than ``check_interval_s`` ago.

When the counter moves, every entry is dropped. When Redis cannot be read, the generation goes
stale and every request resolves from PostgreSQL again (correct, only slower), so a revocation is
honoured everywhere within ``check_interval_s`` plus one round trip — well inside a second.

Time-based ends (a key's ``expires_at``, e.g. the end of a rotation's grace period) need no bump:
each entry carries the expiry and is checked against the request's clock.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from helpline.auth.principal import Principal
from helpline.db import UnitOfWork

log = structlog.get_logger("helpline.auth")


@dataclass(frozen=True, slots=True)
class CachedPrincipal:
    principal: Principal
    expires_at: datetime | None  # the credential's own expiry (None: never)
    generation: bytes | None
    stored_at: float


class PrincipalCache:
    """A bounded LRU of principals for one process (one per app)."""

    def __init__(
        self,
        *,
        key: str,
        ttl_s: float = 30.0,
        max_entries: int = 10_000,
        check_interval_s: float = 0.5,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.generation_key = key
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.check_interval_s = check_interval_s
        self.monotonic = monotonic
        self._entries: OrderedDict[bytes, CachedPrincipal] = OrderedDict()
        self._generation: bytes | None = None
        self._checked_at = float("-inf")

    # -- generation -------------------------------------------------------------------------
    @property
    def check_due(self) -> bool:
        """True when the generation must be read before a cached entry may be trusted."""
        return self.monotonic() - self._checked_at >= self.check_interval_s

    @property
    def generation(self) -> bytes | None:
        return self._generation

    def observe(self, generation: Any) -> bool:
        """Record the generation read from Redis; False (and a cleared cache) if it moved."""
        value = generation if isinstance(generation, bytes | None) else str(generation).encode()
        moved = value != self._generation
        if moved:
            self._entries.clear()
            self._generation = value
        self._checked_at = self.monotonic()
        return not moved

    def unobserved(self) -> None:
        """The generation could not be read (Redis down): trust nothing until it can be."""
        self._checked_at = float("-inf")
        self._entries.clear()

    # -- entries ----------------------------------------------------------------------------
    def get(self, credential: bytes, now: datetime) -> Principal | None:
        entry = self._entries.get(credential)
        if entry is None:
            return None
        if (
            entry.generation != self._generation
            or self.monotonic() - entry.stored_at > self.ttl_s
            or (entry.expires_at is not None and entry.expires_at <= now)
        ):
            del self._entries[credential]
            return None
        self._entries.move_to_end(credential)
        return entry.principal

    def put(
        self,
        credential: bytes,
        principal: Principal,
        *,
        expires_at: datetime | None,
        generation: bytes | None,
    ) -> None:
        """Store a principal resolved while ``generation`` was current (read before the lookup)."""
        if generation != self._generation:
            return  # the counter moved while we looked it up: the row may already be stale
        self._entries[credential] = CachedPrincipal(
            principal, expires_at, generation, self.monotonic()
        )
        self._entries.move_to_end(credential)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


# -- telling every process ---------------------------------------------------------------------
Publisher = Callable[[], Awaitable[None]]
_publishers: list[Publisher] = []


def register_publisher(publisher: Publisher) -> None:
    """How this process announces a change (the app: its cache and Redis; the CLI: Redis)."""
    _publishers.append(publisher)


def unregister_publisher(publisher: Publisher) -> None:
    if publisher in _publishers:
        _publishers.remove(publisher)


def redis_publisher(redis: Any, key: str, local: PrincipalCache | None = None) -> Publisher:
    """Forget locally at once, and replace the shared generation so every process forgets.

    A random token, not a counter: a Redis that restarted empty can never hand a process back a
    value it already trusted.
    """

    async def publish() -> None:
        if local is not None:
            local.clear()
        try:
            await redis.set(key, secrets.token_hex(8))
        except Exception:
            log.error("could not publish a principal change; caches expire within their TTL")
            if local is not None:
                local.unobserved()

    return publish


async def _announce_change() -> None:
    for publish in list(_publishers):
        await publish()


def changed_after_commit(uow: UnitOfWork) -> None:
    """Queue the announcement that a credential or its owner changed (after commit, once)."""
    uow.collect(_announce_change, lambda: _announce_change)


def generation_key(prefix: str) -> str:
    return f"{prefix}:auth:generation"
