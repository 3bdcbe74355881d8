"""Running CLI work: one engine, one transaction with a `system` actor, one-line failures."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.config import Settings, UnsafeSettingsError, get_settings
from helpline.db import ActorContext, Database, UnitOfWork, make_engine
from helpline.errors import HelplineError
from helpline.logs import configure_logging
from helpline.runtime import ConfigurationError, resolve_database_url

P = ParamSpec("P")
T = TypeVar("T")


def fail(message: str) -> typer.Exit:
    """Print a one-line reason to stderr and return the exit to raise."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


def settings_or_exit() -> Settings:
    """The settings, with logging configured (stderr); invalid settings exit with one line."""
    try:
        settings = get_settings()
    except (UnsafeSettingsError, ValueError) as exc:
        raise fail(_first_error(exc)) from exc
    configure_logging(settings)
    return settings


def _first_error(exc: Exception) -> str:
    """The reason line of a (pydantic) settings error, without the surrounding noise."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    reasons = [ln for ln in lines if ln.startswith("Value error,")]
    return reasons[0].removeprefix("Value error, ").split(" [type=")[0] if reasons else lines[-1]


def one_line_errors(func: Callable[P, T]) -> Callable[P, T]:
    """Turn expected failures into `error: <reason>` and exit status 1 (no traceback)."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except HelplineError as exc:
            raise fail(exc.detail) from exc
        except (ConfigurationError, UnsafeSettingsError, OSError) as exc:
            raise fail(str(exc)) from exc
        except Exception as exc:
            if type(exc).__module__.startswith(("sqlalchemy", "asyncpg")):
                raise fail(f"database: {str(exc).splitlines()[0]}") from exc
            raise

    return wrapper


async def in_transaction(
    settings: Settings,
    job: str,
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    database_url: str | None = None,
) -> T:
    """``work`` with the session of one unit of work whose actor is the system job ``job``
    (default database: the service's; the audit jobs pass the owner role's URL)."""

    async def on_session(uow: UnitOfWork) -> T:
        return await work(uow.session)

    return await in_unit_of_work(settings, job, on_session, database_url=database_url)


async def in_unit_of_work(
    settings: Settings,
    job: str,
    work: Callable[[UnitOfWork], Awaitable[T]],
    *,
    database_url: str | None = None,
) -> T:
    """``work`` in one unit of work (one transaction, then its side effects) whose actor is the
    system job ``job``."""
    from helpline.auth import principal_cache
    from helpline.runtime import make_redis
    from helpline.ticket.cache import InvalidationOutbox

    url = database_url or resolve_database_url(settings)
    database = Database(make_engine(url, settings, pool_size=2))
    # A key revoked or a user changed from the command line reaches every server within a second.
    # (With the in-process Redis stand-in there is no other process to tell.)
    redis = make_redis(settings) if settings.redis_url else None
    publisher = None
    if redis is not None:
        # Cut off from Redis: recorded in PostgreSQL, delivered by a server that reaches it.
        outbox = InvalidationOutbox(database, None)
        publisher = principal_cache.redis_publisher(
            redis,
            principal_cache.generation_key(settings.redis_key_prefix),
            on_lost=outbox.record_principal_change,
        )
        principal_cache.register_publisher(publisher)
    try:
        async with database.unit_of_work(ActorContext.system(job)) as uow:
            return await work(uow)
    finally:
        if publisher is not None:
            principal_cache.unregister_publisher(publisher)
        if redis is not None:
            await redis.aclose()
        await database.dispose()


def run_in_transaction(
    settings: Settings, job: str, work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """Run ``work`` in one transaction whose actor is the system job ``job``."""
    return asyncio.run(in_transaction(settings, job, work))


def run_in_unit_of_work(
    settings: Settings, job: str, work: Callable[[UnitOfWork], Awaitable[T]]
) -> T:
    """Run ``work`` in one unit of work whose actor is the system job ``job``."""
    return asyncio.run(in_unit_of_work(settings, job, work))


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def echo_secret_line(secret: str) -> None:
    """A new key alone on its own line on stdout (scripts capture it)."""
    sys.stdout.write(secret + "\n")
    sys.stdout.flush()
