"""Read routing over PostgreSQL streaming replicas, with read-your-writes (DESIGN §15).

The router sends read-only work to a replica when one is **up**, **not lagging** beyond
``max_lag_s`` and **has replayed the caller's own last write**; otherwise to the primary. A request
never fails because a replica is gone: a replica that refuses a connection (or drops it mid-read,
with :meth:`ReadRouter.run_read`) rests for ``retry_s`` and the read runs on the primary.

State comes from a poller (:meth:`ReadRouter.refresh`, every ``check_interval_s``): each replica's
replay LSN and lag, measured against the primary's WAL insert position in the same round. Lag is
0 when the replica has replayed everything the primary had written, otherwise the age of the
last transaction it replayed (``now() - pg_last_xact_replay_timestamp()``), so a paused or stuck
replica is seen lagging within one poll.

Read-your-writes: after a commit, :meth:`ReadRouter.record_write` stores the primary's WAL
position for the principal in Redis (``<prefix>:ryw:<principal>``, kept only if higher, TTL
``marker_ttl_s``). A read by that principal may use a replica only if the replica's polled replay
LSN has reached it. The polled LSN is never newer than the truth, so the check can only err
towards the primary. If Redis cannot answer, the read goes to the primary. Cost per read: one
Redis GET (the hot path can fold it into its existing round trip via :meth:`marker_key`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from helpline.kit.periodic import Periodic

log = logging.getLogger(__name__)

T = TypeVar("T")

PRIMARY_POSITION_SQL = text("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn")
REPLICA_STATE_SQL = text(
    "SELECT pg_is_in_recovery(),"
    " pg_last_wal_replay_lsn() - '0/0'::pg_lsn,"
    " extract(epoch FROM now() - pg_last_xact_replay_timestamp())"
)
# The insert position of an idle primary may sit just past a page or segment header that the
# replica's "end of last replayed record" never includes: that many bytes behind is caught up.
# (Read-your-writes compares strictly: a slack there could skip a commit record.)
WAL_HEADER_SLACK = 40

# Keep the highest position: concurrent writers of one principal may report out of order.
RECORD_WRITE_LUA = """
local old = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > old then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
"""


@dataclass(slots=True)
class Replica:
    """One replica's engine and what the last poll found."""

    name: str
    engine: AsyncEngine
    replay_lsn: int | None = None
    lag_s: float | None = None
    in_recovery: bool = False
    down_until: float = 0.0
    error: str | None = None

    def usable(self, now: float, max_lag_s: float) -> bool:
        return (
            now >= self.down_until
            and self.in_recovery
            and self.lag_s is not None
            and self.lag_s <= max_lag_s
        )


@dataclass(frozen=True, slots=True)
class Route:
    """Where one read goes, and why (for logs, metrics and tests)."""

    engine: AsyncEngine
    replica: str | None  # None: the primary
    reason: str  # replica | no-replicas | unavailable | behind-own-write | marker-unavailable


@dataclass
class ReadRouter:
    """Chooses the engine for read-only work; see the module docstring."""

    primary: AsyncEngine
    replicas: Sequence[Replica]
    redis: Any
    key_prefix: str
    max_lag_s: float = 5.0
    check_interval_s: float = 1.0
    retry_s: float = 5.0
    marker_ttl_s: int = 60
    poll_timeout_s: float = 1.0
    redis_timeout_s: float = 0.25
    clock: Callable[[], float] = time.monotonic
    _next: itertools.count[int] = field(default_factory=itertools.count, init=False)
    poller: Periodic = field(init=False)
    _record_script: Any = field(default=None, init=False)

    # --- state -------------------------------------------------------------------------------
    def marker_key(self, principal: str) -> str:
        """The Redis key holding ``principal``'s last write position (decimal LSN)."""
        return f"{self.key_prefix}:ryw:{principal}"

    async def refresh(self) -> None:
        """Poll the primary's position and every replica's state once."""
        try:
            async with asyncio.timeout(self.poll_timeout_s):
                async with self.primary.connect() as conn:
                    primary_lsn = int((await conn.execute(PRIMARY_POSITION_SQL)).scalar_one())
        except Exception as exc:  # no primary position: keep the old lag figures this round
            log.warning("read router: primary position unavailable: %s", type(exc).__name__)
            primary_lsn = None
        await asyncio.gather(*(self._poll(r, primary_lsn) for r in self.replicas))

    async def _poll(self, replica: Replica, primary_lsn: int | None) -> None:
        try:
            async with asyncio.timeout(self.poll_timeout_s):
                async with replica.engine.connect() as conn:
                    row = (await conn.execute(REPLICA_STATE_SQL)).one()
        except Exception as exc:
            self._mark_down(replica, exc)
            return
        in_recovery, replay, age = row
        replica.in_recovery = bool(in_recovery)
        replica.replay_lsn = int(replay) if replay is not None else None
        replica.error = None
        if primary_lsn is None:
            return
        if replica.replay_lsn is not None and primary_lsn - replica.replay_lsn <= WAL_HEADER_SLACK:
            replica.lag_s = 0.0
        else:
            replica.lag_s = float(age) if age is not None else float("inf")

    def _mark_down(self, replica: Replica, exc: BaseException) -> None:
        replica.down_until = self.clock() + self.retry_s
        replica.error = type(exc).__name__
        log.warning("read router: replica %s unavailable: %s", replica.name, replica.error)

    def __post_init__(self) -> None:
        self.poller = Periodic(
            "replica-poller", self.refresh, interval_s=self.check_interval_s, final_step=False
        )

    async def start(self) -> None:
        """Poll once now, then in the background every ``check_interval_s``."""
        await self.refresh()
        if self.replicas:
            self.poller.start()

    async def stop(self) -> None:
        """Stop polling and close the replicas' engines (the primary is the caller's)."""
        await self.poller.stop()
        for replica in self.replicas:
            await replica.engine.dispose()

    def status(self) -> list[dict[str, Any]]:
        """Each replica's last polled state (for /health and metrics)."""
        now = self.clock()
        return [
            {
                "name": r.name,
                "usable": r.usable(now, self.max_lag_s),
                "lag_s": r.lag_s,
                "replay_lsn": r.replay_lsn,
                "error": r.error,
            }
            for r in self.replicas
        ]

    # --- writes ------------------------------------------------------------------------------
    async def record_write(self, principal: str) -> None:
        """After a commit by ``principal``: its reads need a replica at least this far along.

        Run it as an after-commit effect. Failures are logged, never raised: the write has
        committed, and without a marker the principal's reads may briefly see the older state
        only if a replica is also within ``max_lag_s`` — the documented bound.
        """
        if not self.replicas:
            return
        try:
            async with self.primary.connect() as conn:
                lsn = int((await conn.execute(PRIMARY_POSITION_SQL)).scalar_one())
            if self._record_script is None:
                self._record_script = self.redis.register_script(RECORD_WRITE_LUA)
            async with asyncio.timeout(self.redis_timeout_s):
                await self._record_script(
                    keys=[self.marker_key(principal)], args=[lsn, self.marker_ttl_s * 1000]
                )
        except Exception as exc:
            log.warning("read router: write position not recorded: %s", type(exc).__name__)

    # --- reads -------------------------------------------------------------------------------
    async def choose(self, principal: str | None = None) -> Route:
        """The engine for one read by ``principal`` (None: no read-your-writes constraint)."""
        if not self.replicas:
            return Route(self.primary, None, "no-replicas")
        now = self.clock()
        candidates = [r for r in self.replicas if r.usable(now, self.max_lag_s)]
        if not candidates:
            return Route(self.primary, None, "unavailable")
        if principal is not None:
            try:
                async with asyncio.timeout(self.redis_timeout_s):
                    raw = await self.redis.get(self.marker_key(principal))
            except Exception:  # cannot prove the replica has the caller's writes
                return Route(self.primary, None, "marker-unavailable")
            if raw is not None:
                needed = int(raw)
                candidates = [r for r in candidates if (r.replay_lsn or 0) >= needed]
                if not candidates:
                    return Route(self.primary, None, "behind-own-write")
        replica = candidates[next(self._next) % len(candidates)]
        return Route(replica.engine, replica.name, "replica")

    async def run_read(
        self, principal: str | None, fn: Callable[[AsyncSession], Awaitable[T]]
    ) -> T:
        """Run ``fn`` in a read-only transaction on the chosen engine. A replica that fails at
        the connection level is marked down and ``fn`` runs again on the primary; a read the
        replica cancelled for a recovery conflict (SQLSTATE 40001) runs again on the primary
        too. Reads are repeatable, so running one twice is safe."""
        route = await self.choose(principal)
        try:
            return await self._run(route.engine, fn)
        except (DBAPIError, OSError) as exc:
            if route.replica is None:
                raise
            if _is_connection_failure(exc):
                replica = next(r for r in self.replicas if r.name == route.replica)
                self._mark_down(replica, exc)
            elif _sqlstate(exc) != "40001":
                raise
            return await self._run(self.primary, fn)

    @staticmethod
    async def _run(engine: AsyncEngine, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            await session.execute(text("SET TRANSACTION READ ONLY"))
            return await fn(session)


def _sqlstate(exc: BaseException) -> str | None:
    original = getattr(exc, "orig", None)
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return str(code) if code else None


def _is_connection_failure(exc: BaseException) -> bool:
    """A lost or refused connection (the replica is gone), not an error in the query."""
    if isinstance(exc, OSError | InterfaceError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    state = _sqlstate(exc)
    if state is not None:  # the server answered: class 08 is a connection exception, 57P0x shutdown
        return state.startswith("08") or state in {"57P01", "57P02", "57P03"}
    original = getattr(exc, "orig", None)
    return isinstance(getattr(original, "__cause__", None), OSError) or isinstance(
        exc, OperationalError
    )
