"""Alembic environment: async engine, URL from Helpline's settings, partitions ignored."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from helpline.config import get_settings
from helpline.db import async_url
from helpline.kit.pg import engine_options
from helpline.models import Base
from helpline.models.audit_log import AUDIT_PARTITION_PREFIX
from helpline.runtime import resolve_database_url

config = context.config
target_metadata = Base.metadata


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    # Monthly audit partitions are created at run time, not described by the models;
    # procrastinate's tables come from its own schema script (migration 0005).
    return not (
        type_ == "table" and name and name.startswith((AUDIT_PARTITION_PREFIX, "procrastinate_"))
    )


def database_url() -> str:
    return config.attributes.get("database_url") or resolve_database_url(get_settings())


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    # Through PgBouncer too (HELPLINE_DATABASE_OWNER_URL unset): no named statement may clash.
    options = engine_options(
        {"poolclass": pool.NullPool}, pgbouncer=get_settings().database_pgbouncer
    )
    engine = create_async_engine(async_url(database_url()), **options)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=str(async_url(database_url())),
        target_metadata=target_metadata,
        literal_binds=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())
