"""SQL for API keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import exists, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.rows import AnyRow
from helpline.models import ApiKey

# The key and its owner's current role and state, by the key's hash (no actor context: reads
# set none; a write transaction sets it when it begins).
LOOKUP_KEY = text(
    """
    SELECT k.id, k.user_id, k.key_hash, k.scopes, k.rate_limit_per_minute, k.expires_at,
           k.revoked_at, u.role, u.is_active
      FROM api_keys k JOIN users u ON u.id = k.user_id
     WHERE k.key_hash = :key_hash
    """
)


async def lookup_key(session: AsyncSession, key_hash: bytes) -> AnyRow | None:
    return (await session.execute(LOOKUP_KEY, {"key_hash": key_hash})).first()


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


TOUCH_LAST_USED = text(
    """
    UPDATE api_keys k SET last_used_at = u.at
      FROM unnest(CAST(:ids AS uuid[]), CAST(:ats AS timestamptz[])) AS u(id, at)
     WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)
    """
)


async def touch_last_used(session: AsyncSession, uses: dict[uuid.UUID, datetime]) -> None:
    """Record the last use of several keys in one statement (never moves a time backwards)."""
    await session.execute(TOUCH_LAST_USED, {"ids": list(uses), "ats": [uses[k] for k in uses]})


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
