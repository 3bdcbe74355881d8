"""The unit of work: everything one request, GraphQL operation, job or CLI command does.

One :class:`UnitOfWork` is made per request (by the middleware, once the request id and client
address are known), per job and per CLI command, and passed explicitly — a FastAPI dependency
(``UowDep``), the GraphQL context, the job's code. It holds:

* the session, opened on first use and committed exactly once by whoever made the unit of work
  (:meth:`UnitOfWork.boundary`), or rolled back on any exception;
* the side effects to run after that commit (dropped on rollback), and the steps to run just
  before it (idempotency stores the built response in the same transaction);
* the deferred Redis batch: work of this request (its rate-limit hit) that rides along with the
  request's next Redis round trip (``kit.roundtrip``);
* the cache backend, the caller (principal) and the request's identity, and where its reads may
  go (a replica, or the primary in autocommit).

Nothing of it lives in context variables, the session's info dict or global listeners (ADR 0011).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from helpline.kit.cache import CacheBackend
    from helpline.kit.replicas import ReadRouter
    from helpline.kit.roundtrip import Deferred

log = logging.getLogger(__name__)

T = TypeVar("T")
Effect = Callable[[], Awaitable[None]]
E = TypeVar("E", bound=Effect)
Step = Callable[["UnitOfWork"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ActorContext:
    """Who is acting, for database triggers and audit rows (transaction-local settings)."""

    actor_type: str = "anonymous"
    actor_id: str | None = None
    api_key_id: str | None = None
    request_id: str | None = None
    ip: str | None = None

    @classmethod
    def system(cls, job: str) -> ActorContext:
        return cls(actor_type="system", request_id=f"job:{job}")

    def params(self) -> dict[str, str]:
        return {
            "actor_type": self.actor_type,
            "actor_id": self.actor_id or "",
            "api_key_id": self.api_key_id or "",
            "request_id": self.request_id or "",
            "ip": self.ip or "",
        }

    def as_settings(self) -> dict[str, str]:
        return {
            "helpline.actor_type": self.actor_type,
            "helpline.actor_id": self.actor_id or "",
            "helpline.api_key_id": self.api_key_id or "",
            "helpline.request_id": self.request_id or "",
            "helpline.ip": self.ip or "",
        }


SET_ACTOR_SQL = text(
    "SELECT set_config('helpline.actor_type', :actor_type, true),"
    " set_config('helpline.actor_id', :actor_id, true),"
    " set_config('helpline.api_key_id', :api_key_id, true),"
    " set_config('helpline.request_id', :request_id, true),"
    " set_config('helpline.ip', :ip, true)"
)


async def set_actor_context(session: AsyncSession, actor: ActorContext) -> None:
    """Record the actor for the current transaction (must be its first write-relevant statement)."""
    await session.execute(SET_ACTOR_SQL, actor.params())


@dataclass(frozen=True, slots=True)
class RequestIdentity:
    """Where a unit of work comes from: the request id (or ``job:<name>``) and client address."""

    request_id: str | None = None
    ip: str | None = None


class Caller(Protocol):
    """What the unit of work needs of a principal (``helpline.auth.principal.Principal``)."""

    def ident(self) -> str: ...


class WorkSession(Session):
    """The synchronous session under a unit of work's ``AsyncSession``.

    SQLAlchemy begins transactions implicitly (autobegin); the only way to run the actor's
    ``set_config`` as each one begins is its ``after_begin`` hook, which only forwards to the
    session's unit of work. The hook is on this class, not on every ``Session`` of the process.
    """

    work: UnitOfWork | None = None


@event.listens_for(WorkSession, "after_begin")
def _began(session: WorkSession, _transaction: Any, connection: Connection) -> None:
    if session.work is not None:
        session.work.began(connection)


SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(eq=False, slots=True)
class UnitOfWork:
    """One request's (job's, command's) transaction and what rides on it (module docstring)."""

    sessions: SessionFactory
    identity: RequestIdentity = field(default_factory=RequestIdentity)
    cache: CacheBackend | None = None
    principal: Caller | None = None
    deferred: Deferred | None = None
    # What a cache may do with this unit's reads: False once it queued a change (its rows may
    # still roll back), so nothing it reads is cached and it reads its own writes.
    changed: bool = False
    response: Any = None  # the response the route built, for before-commit steps
    autocommit_reads: SessionFactory | None = None
    bounded: bool = False  # its boundary is running: someone will commit and close it
    _session: AsyncSession | None = None
    _actor: ActorContext | None = None
    _read_router: ReadRouter | None = None
    _effects: list[tuple[Hashable | None, Effect]] = field(default_factory=list)
    _collected: dict[Hashable, Any] = field(default_factory=dict)
    _before_commit: list[Step] = field(default_factory=list)

    # the session ---------------------------------------------------------------------------
    @property
    def session(self) -> AsyncSession:
        """The unit's session, opened on first use (a cache-hit read never opens one)."""
        if self._session is None:
            self._session = self.sessions()
            sync = self._session.sync_session
            if isinstance(sync, WorkSession):
                sync.work = self
        return self._session

    @property
    def in_transaction(self) -> bool:
        return self._session is not None and self._session.in_transaction()

    async def act_as(self, actor: ActorContext) -> None:
        """Every transaction of this unit records ``actor`` for the triggers as it begins.

        Reads never pay for it: only writes (and jobs) call this. If the transaction has already
        begun (e.g. a credential lookup), the actor is set in it now.
        """
        self._actor = actor
        if self.in_transaction:
            await set_actor_context(self.session, actor)

    def began(self, connection: Connection) -> None:
        """A transaction of the session began (forwarded by the session's hook)."""
        if self._actor is not None:
            connection.execute(SET_ACTOR_SQL, self._actor.params())

    # reads ---------------------------------------------------------------------------------
    def route_reads(self, router: ReadRouter) -> None:
        """Let this unit's lone reads go to a replica, with read-your-writes for its caller."""
        self._read_router = router

    async def read(self, read: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run a read-only ``read`` on a replica when the unit allows it, else on the primary.

        A unit that has begun a transaction (it wrote, or holds locks) or queued side effects
        reads on its own session: it must see its own uncommitted changes. Otherwise ``read``
        gets a session of its own (its statements need no common snapshot with the unit's other
        reads) — on a replica, or on the primary in autocommit.
        """
        if self.in_transaction or self._effects:
            return await read(self.session)
        if self._read_router is not None:
            principal = self.principal.ident() if self.principal is not None else None
            result: T = await self._read_router.run_read(principal, read)
            return result
        if self.autocommit_reads is None:
            return await read(self.session)
        # Not in a transaction yet: run the read in autocommit, without the BEGIN and COMMIT
        # round trips a transaction would cost; its connection goes back to the pool at once.
        async with self.autocommit_reads() as autocommit:
            return await read(autocommit)

    async def release(self) -> None:
        """Give a read's connection back to the pool before its response is built.

        Only for a transaction that changed nothing (no queued side effects): it is committed,
        which for a read only ends the snapshot; the session may be used again.
        """
        if self.in_transaction and not self._effects:
            await self.session.commit()

    # side effects --------------------------------------------------------------------------
    def after_commit(self, effect: Effect) -> None:
        """Queue a side effect to run after the transaction commits; dropped on rollback."""
        self._effects.append((None, effect))

    def collect(self, key: Hashable, make: Callable[[], E]) -> E:
        """One after-commit effect per ``key`` that gathers what the unit changed (e.g. the
        tickets to invalidate): made and queued on first use, the same object afterwards."""
        found = self._collected.get(key)
        if found is None:
            found = make()
            self._collected[key] = found
            self._effects.append((key, found))
        collected: E = found
        return collected

    def before_commit(self, step: Step) -> None:
        """Run ``step`` just before the unit's commit (in its transaction), never on rollback."""
        self._before_commit.append(step)

    @property
    def has_effects(self) -> bool:
        return bool(self._effects)

    def effects_mark(self) -> int:
        """A mark to drop the effects queued after it (a savepoint rolled back)."""
        return len(self._effects)

    def drop_effects(self, mark: int = 0) -> None:
        """Drop the effects queued since ``mark`` (all by default): their changes rolled back."""
        for key, _effect in self._effects[mark:]:
            if key is not None:
                self._collected.pop(key, None)
        del self._effects[mark:]

    async def rollback(self) -> None:
        """Roll the transaction back and drop its effects (the unit may go on)."""
        if self._session is not None:
            await self._session.rollback()
        self.drop_effects()

    async def run_effects(self) -> None:
        effects, self._effects = self._effects, []
        self._collected.clear()
        for _key, effect in effects:
            try:
                await effect()
            except Exception:  # a failed side effect must not turn a committed write into an error
                log.exception("after-commit side effect failed")

    # deferred Redis work -------------------------------------------------------------------
    def defer(self, deferred: Deferred) -> None:
        """Let ``deferred`` ride along with this unit's next Redis round trip."""
        self.deferred = deferred

    def take_deferred(self) -> Deferred | None:
        deferred, self.deferred = self.deferred, None
        return deferred

    async def flush_deferred(self) -> None:
        """Send whatever is still deferred (before PostgreSQL work, or when the handler is done)."""
        deferred = self.take_deferred()
        if deferred is not None:
            await deferred.flush()

    # the boundary --------------------------------------------------------------------------
    @asynccontextmanager
    async def boundary(self) -> AsyncIterator[UnitOfWork]:
        """Commit once at the end (after the before-commit steps), roll back on error, then run
        the side effects. A unit that never opened a session (a cache-hit read) has nothing to
        commit, roll back or close."""
        self.bounded = True
        try:
            yield self
            await self.flush_deferred()
            if self.in_transaction:
                for step in self._before_commit:
                    await step(self)
                await self.session.commit()
        except BaseException:
            if self.in_transaction:
                await self.session.rollback()
            raise
        finally:
            session = self._session
            if session is not None and (session.in_transaction() or session.identity_map):
                await session.close()
        await self.run_effects()
