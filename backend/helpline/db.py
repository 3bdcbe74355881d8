"""Database access: one engine per process, one transaction per request/job.

The session dependency opens the transaction, the handler and services only ``flush()``, and the
dependency commits exactly once after the handler returns (or rolls back on any exception). Side
effects queued with :func:`after_commit` run only after a successful commit.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from fastapi import Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from helpline.config import Settings
from helpline.kit import roundtrip
from helpline.kit.pg import engine_options

log = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[None]]


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


ACTOR = "helpline.actor"


async def set_actor_context(session: AsyncSession, actor: ActorContext) -> None:
    """Record the actor for the current transaction (must be its first write-relevant statement)."""
    await session.execute(SET_ACTOR_SQL, actor.params())


async def act_as(session: AsyncSession, actor: ActorContext) -> None:
    """Every transaction of ``session`` records ``actor`` for the triggers as it begins.

    Reads never pay for it: only write requests (and jobs) call this. If the session's
    transaction has already begun (e.g. a credential lookup), the actor is set in it now.
    """
    session.info[ACTOR] = actor
    if session.in_transaction():
        await set_actor_context(session, actor)


@event.listens_for(Session, "after_begin")
def _begin_as_actor(session: Session, _transaction: Any, connection: Connection) -> None:
    actor: ActorContext | None = session.info.get(ACTOR)
    if actor is not None:
        connection.execute(SET_ACTOR_SQL, actor.params())


READ_ROUTE = "helpline.read_route"
AUTOCOMMIT_READS = "helpline.autocommit_reads"
T = TypeVar("T")


def route_reads(session: AsyncSession, router: Any, principal: str) -> None:
    """Let this request's reads go to a replica through ``router`` (kit.replicas.ReadRouter),
    with read-your-writes for ``principal``."""
    session.info[READ_ROUTE] = (router, principal)


async def run_read(session: AsyncSession, read: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run a read-only ``read`` on a replica when the request allows it, else on the primary.

    A request that has begun a transaction (it wrote, or holds locks) or queued side effects
    reads on its own session: it must see its own uncommitted changes. Otherwise ``read``
    gets a session of its own (its statements need no common snapshot with the request's
    other reads) — on a replica, or on the primary in autocommit.
    """
    if session.in_transaction() or session.info.get("after_commit"):
        return await read(session)
    route = session.info.get(READ_ROUTE)
    if route is not None:
        router, principal = route
        result: T = await router.run_read(principal, read)
        return result
    reads: async_sessionmaker[AsyncSession] | None = session.info.get(AUTOCOMMIT_READS)
    if reads is None:
        return await read(session)
    # Not in a transaction yet: run the read in autocommit, without the BEGIN and COMMIT
    # round trips a transaction would cost; its connection goes back to the pool at once.
    async with reads() as autocommit:
        return await read(autocommit)


async def end_read(session: AsyncSession) -> None:
    """Give a read's connection back to the pool before its response is built.

    Only for a transaction that changed nothing (no queued side effects): it is committed, which
    for a read only ends the snapshot; the session may be used again (a new transaction begins).
    """
    if session.in_transaction() and not session.info.get("after_commit"):
        await session.commit()


def after_commit(session: AsyncSession, effect: AfterCommit) -> None:
    """Queue a side effect to run after the transaction commits; dropped on rollback."""
    session.info.setdefault("after_commit", []).append(effect)


async def run_after_commit(session: AsyncSession) -> None:
    effects: list[AfterCommit] = session.info.pop("after_commit", [])
    for effect in effects:
        try:
            await effect()
        except Exception:  # a failed side effect must not turn a committed write into an error
            log.exception("after-commit side effect failed")


def async_url(url: str) -> URL:
    """Turn an ordinary ``postgresql://`` URL (or a libpq socket URL) into the asyncpg form."""
    parts = urlsplit(url)
    sa_url = make_url(url).set(drivername="postgresql+asyncpg")
    query = dict(parse_qsl(parts.query))
    if "host" in query and not parts.hostname:  # unix socket directory (embedded server)
        sa_url = sa_url.set(query={k: v for k, v in query.items() if k != "host"}, host=None)
        sa_url = sa_url.update_query_dict({"host": query["host"]})
    return sa_url


def make_engine(url: str, settings: Settings, **overrides: Any) -> AsyncEngine:
    server_settings = {"application_name": "helpline", "jit": "off"}
    if settings.db_statement_timeout_ms:
        server_settings["statement_timeout"] = str(settings.db_statement_timeout_ms)
    options: dict[str, Any] = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout_s,
        "pool_recycle": 1800,
        "connect_args": {"server_settings": server_settings, "timeout": 10},
    }
    options.update(overrides)
    options = engine_options(options, pgbouncer=settings.database_pgbouncer)
    return create_async_engine(async_url(url), **options)


class Database:
    """The process's engine and session factory."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Same pool; no transaction, so a lone read costs no BEGIN/COMMIT (see run_read).
        autocommit_reads = async_sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )
        self.sessionmaker = async_sessionmaker(
            engine,
            expire_on_commit=False,
            autoflush=False,
            info={AUTOCOMMIT_READS: autocommit_reads},
        )

    @asynccontextmanager
    async def transaction(self, actor: ActorContext | None = None) -> AsyncIterator[AsyncSession]:
        """One unit of work: commit once at the end, roll back on error, then run side effects."""
        session = self.sessionmaker()
        if actor is not None:
            session.info[ACTOR] = actor
        async with _unit_of_work(session):
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


@asynccontextmanager
async def _unit_of_work(session: AsyncSession) -> AsyncIterator[None]:
    """Commit once at the end, roll back on error, then run the queued side effects.

    A session that never began a transaction (a cache-hit read) has nothing to commit, roll
    back or close: it skips SQLAlchemy's async round trips through its greenlet altogether.
    """
    try:
        yield
        if session.in_transaction():
            await session.commit()
    except BaseException:
        if session.in_transaction():
            await session.rollback()
        raise
    finally:
        if session.in_transaction() or session.identity_map:
            await session.close()
    await run_after_commit(session)


REQUEST_SESSION = "helpline.session"


async def get_session(request: Request) -> AsyncSession:
    """The request's session. Its unit of work — commit once after the handler, roll back on
    any exception, then the side effects — is run by :class:`UnitOfWorkRoute` around the
    handler, not by this dependency: a plain dependency costs FastAPI far less per request than
    one with an exit (no exit stack, no shielded cancel scope)."""
    session: AsyncSession | None = request.scope.get("state", {}).get(REQUEST_SESSION)
    if session is None:
        raise RuntimeError(f"{request.url.path}: its router must use route_class=UnitOfWorkRoute")
    return session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _uses_session(dependant: Dependant) -> bool:
    return dependant.call is get_session or any(_uses_session(d) for d in dependant.dependencies)


class UnitOfWorkRoute(APIRoute):
    """A route whose requests get one session, committed exactly once after the handler
    returns and before the response is sent (a failed commit is never a 2xx), rolled back on
    any exception; side effects queued with :func:`after_commit` run after the commit.

    Redis work the request deferred (its rate-limit hit) that nothing sent along yet is sent
    before the commit, so a refused request still changes nothing. Routes that take no
    session run as they are.
    """

    # Wraps the handler *inside* the unit of work: idempotency hands the built response to its
    # before-commit hook there, so the stored response commits with the change.
    wrap_handler: Callable[[Handler], Handler] | None = None

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        if self.wrap_handler is not None:
            handler = self.wrap_handler(handler)
        if not _uses_session(self.dependant):
            return handler

        async def unit_of_work(request: Request) -> Response:
            database: Database = request.app.state.db
            session = database.sessionmaker()
            request.scope.setdefault("state", {})[REQUEST_SESSION] = session
            async with _unit_of_work(session):
                response = await handler(request)
                await roundtrip.flush()
            return response

        return unit_of_work
