"""The engine (one per process) and the session factories units of work draw from."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from helpline.config import Settings
from helpline.db.work import ActorContext, RequestIdentity, UnitOfWork, WorkSession
from helpline.kit.pg import engine_options

if TYPE_CHECKING:
    from helpline.kit.cache import CacheBackend

log = logging.getLogger(__name__)


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

    def __init__(self, engine: AsyncEngine, *, connection: AsyncConnection | None = None) -> None:
        """Sessions on ``engine``'s pool or, given ``connection``, all inside its transaction
        (each commit a savepoint release: what the tests roll back)."""
        self.engine = engine
        self.autocommit_reads: async_sessionmaker[AsyncSession] | None = None
        if connection is not None:
            self.sessionmaker = async_sessionmaker(
                bind=connection,
                join_transaction_mode="create_savepoint",
                expire_on_commit=False,
                autoflush=False,
                sync_session_class=WorkSession,
            )
            return
        # Same pool; no transaction, so a lone read costs no BEGIN/COMMIT (UnitOfWork.read).
        self.autocommit_reads = async_sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )
        self.sessionmaker = async_sessionmaker(
            engine, expire_on_commit=False, autoflush=False, sync_session_class=WorkSession
        )

    def work(
        self,
        *,
        actor: ActorContext | None = None,
        identity: RequestIdentity | None = None,
        cache: CacheBackend | None = None,
    ) -> UnitOfWork:
        """A new unit of work on this database (its maker runs its ``boundary``)."""
        work = UnitOfWork(
            self.sessionmaker,
            identity=identity or RequestIdentity(actor.request_id if actor else None),
            cache=cache,
            autocommit_reads=self.autocommit_reads,
        )
        if actor is not None:
            work._actor = actor  # set as its first transaction begins
        return work

    @asynccontextmanager
    async def unit_of_work(
        self, actor: ActorContext | None = None, *, cache: CacheBackend | None = None
    ) -> AsyncIterator[UnitOfWork]:
        """A unit of work for a job or command: commit once at the end, roll back on error,
        then run its side effects."""
        async with self.work(actor=actor, cache=cache).boundary() as work:
            yield work

    @asynccontextmanager
    async def transaction(self, actor: ActorContext | None = None) -> AsyncIterator[AsyncSession]:
        """:meth:`unit_of_work` for work that needs only its session (no side effects)."""
        async with self.unit_of_work(actor) as work:
            yield work.session

    async def dispose(self) -> None:
        await self.engine.dispose()
