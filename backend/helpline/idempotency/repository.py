"""All SQL for idempotency keys. Times come from the database clock (shared by all processes)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.rows import AnyRow
from helpline.models import IdempotencyKey

COLUMNS = (
    IdempotencyKey.request_fingerprint,
    IdempotencyKey.response_status,
    IdempotencyKey.response_body,
    IdempotencyKey.response_headers,
    IdempotencyKey.created_at,
)


def _ago(seconds: int) -> Any:
    """The database's now() minus ``seconds`` (a bound interval parameter, not SQL text)."""
    return func.now() - timedelta(seconds=seconds)


async def delete_expired_key(
    session: AsyncSession, principal: str, key: str, ttl_seconds: int
) -> None:
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.principal == principal,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at < _ago(ttl_seconds),
        )
    )


async def insert_claim(
    session: AsyncSession, principal: str, key: str, fingerprint: str
) -> datetime | None:
    """Insert an in-flight claim; its created_at (the claim's token), or None if the key exists."""
    stmt = (
        insert(IdempotencyKey)
        .values(principal=principal, key=key, request_fingerprint=fingerprint)
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.created_at)
    )
    created: datetime | None = (await session.execute(stmt)).scalar_one_or_none()
    return created


async def get_key(session: AsyncSession, principal: str, key: str) -> AnyRow | None:
    stmt = select(*COLUMNS).where(IdempotencyKey.principal == principal, IdempotencyKey.key == key)
    return (await session.execute(stmt)).first()


async def take_over_stale_claim(
    session: AsyncSession, principal: str, key: str, stale_after_seconds: int
) -> datetime | None:
    """Re-claim an in-flight claim older than the timeout (its owner presumably crashed)."""
    stmt = (
        update(IdempotencyKey)
        .where(
            IdempotencyKey.principal == principal,
            IdempotencyKey.key == key,
            IdempotencyKey.response_status.is_(None),
            IdempotencyKey.created_at < _ago(stale_after_seconds),
        )
        .values(created_at=func.clock_timestamp())
        .returning(IdempotencyKey.created_at)
    )
    created: datetime | None = (await session.execute(stmt)).scalar_one_or_none()
    return created


def complete_claim_statement(
    principal: str,
    key: str,
    claimed_at: datetime,
    status: int,
    body: Any,
    headers: dict[str, str],
) -> Update:
    """Store the response on the claim, if the claim is still ours and still in flight."""
    return (
        update(IdempotencyKey)
        .where(
            IdempotencyKey.principal == principal,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at == claimed_at,
            IdempotencyKey.response_status.is_(None),
        )
        .values(response_status=status, response_body=body, response_headers=headers)
    )


async def complete_claim(
    session: AsyncSession,
    principal: str,
    key: str,
    claimed_at: datetime,
    status: int,
    body: Any,
    headers: dict[str, str],
) -> None:
    await session.execute(
        complete_claim_statement(principal, key, claimed_at, status, body, headers)
    )


async def release_claim(
    session: AsyncSession, principal: str, key: str, claimed_at: datetime
) -> None:
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.principal == principal,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at == claimed_at,
            IdempotencyKey.response_status.is_(None),
        )
    )


async def purge_expired(session: AsyncSession, ttl_seconds: int) -> int:
    result = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < _ago(ttl_seconds))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
