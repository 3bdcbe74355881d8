"""SQL for API keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import exists, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.rows import AnyRow
from helpline.models import ApiKey

# One round trip: look the key up by its hash and, in the same statement, record the actor
# context of the transaction for the database triggers.
LOOKUP_AND_SET_ACTOR = text(
    """
    SELECT k.id, k.user_id, k.key_hash, k.scopes, k.rate_limit_per_minute, k.expires_at,
           k.revoked_at, u.role, u.is_active,
           set_config('helpline.actor_type', 'api_key', true),
           set_config('helpline.actor_id', k.user_id::text, true),
           set_config('helpline.api_key_id', k.id::text, true),
           set_config('helpline.request_id', :request_id, true),
           set_config('helpline.ip', :ip, true)
      FROM api_keys k JOIN users u ON u.id = k.user_id
     WHERE k.key_hash = :key_hash
    """
)


async def lookup_key_and_set_actor(
    session: AsyncSession, key_hash: bytes, request_id: str, ip: str
) -> AnyRow | None:
    result = await session.execute(
        LOOKUP_AND_SET_ACTOR, {"key_hash": key_hash, "request_id": request_id, "ip": ip}
    )
    return result.first()


async def insert_key(
    session: AsyncSession,
    *,
    key_id: uuid.UUID,
    user_id: uuid.UUID,
    name: str,
    prefix: str,
    key_hash: bytes,
    scopes: list[str],
    rate_limit_per_minute: int | None,
    expires_at: datetime | None,
    lineage_id: uuid.UUID | None = None,
    rotated_from_id: uuid.UUID | None = None,
) -> ApiKey:
    stmt = (
        insert(ApiKey)
        .values(
            id=key_id,
            user_id=user_id,
            name=name,
            prefix=prefix,
            key_hash=key_hash,
            scopes=scopes,
            rate_limit_per_minute=rate_limit_per_minute,
            expires_at=expires_at,
            lineage_id=lineage_id or key_id,
            rotated_from_id=rotated_from_id,
        )
        .returning(ApiKey)
    )
    return (await session.execute(stmt)).scalar_one()


async def list_keys(session: AsyncSession, user_id: uuid.UUID) -> list[ApiKey]:
    stmt = select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at, ApiKey.id)
    return list((await session.execute(stmt)).scalars())


async def get_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def lock_lineage(session: AsyncSession, lineage_id: uuid.UUID) -> list[ApiKey]:
    """Every key of a rotation chain, locked so that concurrent rotations serialize."""
    stmt = (
        select(ApiKey)
        .where(ApiKey.lineage_id == lineage_id)
        .order_by(ApiKey.created_at, ApiKey.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars())


async def revoke_key(session: AsyncSession, key_id: uuid.UUID, at: datetime) -> None:
    stmt = (
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=at)
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)


async def revoke_user_keys(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> None:
    stmt = (
        update(ApiKey)
        .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=at)
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)


async def has_successor(session: AsyncSession, key_id: uuid.UUID) -> bool:
    """Whether a rotation replaced this key (it lives on only for its grace period)."""
    stmt = select(exists().where(ApiKey.rotated_from_id == key_id))
    return bool((await session.execute(stmt)).scalar_one())


async def set_key_expiry(session: AsyncSession, key_id: uuid.UUID, expires_at: datetime) -> None:
    stmt = (
        update(ApiKey)
        .where(ApiKey.id == key_id)
        .values(expires_at=expires_at)
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)


async def touch_last_used(session: AsyncSession, key_id: uuid.UUID, at: datetime) -> None:
    stmt = (
        update(ApiKey)
        .where(ApiKey.id == key_id)
        .values(last_used_at=at)
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)


# Session authentication: the user's current role and state, and the actor context, in one trip.
LOOKUP_USER_AND_SET_ACTOR = text(
    """
    SELECT u.id, u.role, u.is_active, u.password_hash,
           set_config('helpline.actor_type', 'user', true),
           set_config('helpline.actor_id', u.id::text, true),
           set_config('helpline.api_key_id', '', true),
           set_config('helpline.request_id', :request_id, true),
           set_config('helpline.ip', :ip, true)
      FROM users u
     WHERE u.id = :user_id
    """
)


async def lookup_user_and_set_actor(
    session: AsyncSession, user_id: uuid.UUID, request_id: str, ip: str
) -> AnyRow | None:
    result = await session.execute(
        LOOKUP_USER_AND_SET_ACTOR, {"user_id": user_id, "request_id": request_id, "ip": ip}
    )
    return result.first()
