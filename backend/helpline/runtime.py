"""Resolve the services a process uses: real PostgreSQL/Redis from settings, or the embedded
development defaults. Used by the app's lifespan and by the CLI alike."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import structlog

from helpline.config import Environment, Settings

log = structlog.get_logger("helpline.runtime")


# Young-generation collections every 20,000 net allocations instead of 700: a request allocates
# a few thousand short-lived objects, almost all freed by reference counting.
GC_THRESHOLDS = (20_000, 50, 100)


def tune_gc() -> None:
    """Once a serving process has started: move everything alive (modules, the ORM's mappers,
    OpenAPI models, the route table — some hundred thousand objects) out of the collector's
    reach, and collect young objects less often. A full collection then no longer walks the
    start-up heap: on a cached GET it cut p99 from 93 ms to 9 ms and raised throughput by a
    third (scripts/bench http; docs/adr/0010-hot-path.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class ConfigurationError(RuntimeError):
    """A required service is not configured for this environment."""


def resolve_database_url(settings: Settings) -> str:
    """The PostgreSQL URL to use; starts the embedded server in development when none is set."""
    if settings.database_url:
        return settings.database_url
    if settings.env is not Environment.development:
        raise ConfigurationError(
            f"HELPLINE_DATABASE_URL is required in {settings.env.value} "
            "(the embedded database is for development only)"
        )
    from helpline.kit.embedded import start_embedded_postgres

    url = start_embedded_postgres(settings.var_dir)
    log.warning(
        "using the embedded PostgreSQL (development and demos only)",
        data_dir=str((settings.var_dir / "postgres").resolve()),
    )
    return url


def make_redis(settings: Settings) -> Any:
    """A redis-py asyncio client (one server, Cluster or Sentinel, by the URL's scheme), or the
    in-process fake in development when no URL is set."""
    if settings.redis_url:
        from helpline.kit.redis_client import redis_from_url

        return redis_from_url(
            settings.redis_url,
            socket_timeout=0.25,
            socket_connect_timeout=0.25,
            health_check_interval=30,
        )
    if settings.env is not Environment.development and settings.env is not Environment.test:
        raise ConfigurationError(f"HELPLINE_REDIS_URL is required in {settings.env.value}")
    from helpline.kit.embedded import make_fake_redis

    log.warning("using the in-process Redis stand-in (single process; development only)")
    return make_fake_redis()


def migrations_dir() -> Path:
    """Alembic's script directory: shipped in the wheel, or the repository's `migrations/`."""
    packaged = Path(__file__).parent / "_migrations"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "migrations"


def make_read_router(settings: Settings, primary: Any, redis: Any) -> Any:
    """The read router over HELPLINE_DATABASE_REPLICA_URLS (no replicas: every read on
    ``primary``). Call ``await router.start()`` in the lifespan and ``stop()`` at shutdown."""
    from helpline.config import redact_url
    from helpline.db import make_engine
    from helpline.kit.replicas import ReadRouter, Replica

    replicas = [
        Replica(name=redact_url(url), engine=make_engine(url, settings, pool_pre_ping=True))
        for url in settings.database_replica_urls
    ]
    return ReadRouter(
        primary=primary,
        replicas=replicas,
        redis=redis,
        key_prefix=settings.redis_key_prefix,
        max_lag_s=settings.database_replica_max_lag_s,
        check_interval_s=settings.database_replica_check_interval_s,
        retry_s=settings.database_replica_retry_s,
        marker_ttl_s=settings.read_your_writes_ttl_s,
    )
