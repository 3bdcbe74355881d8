"""All SQL for users."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.rows import AnyRow
from helpline.models import User

PUBLIC_COLUMNS = (
    User.id,
    User.email,
    User.name,
    User.role,
    User.is_active,
    User.created_at,
    User.updated_at,
)


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> AnyRow | None:
    return (await session.execute(select(*PUBLIC_COLUMNS).where(User.id == user_id))).first()


async def get_user_by_email(session: AsyncSession, email: str) -> AnyRow | None:
    stmt = select(*PUBLIC_COLUMNS).where(func.lower(User.email) == email.lower())
    return (await session.execute(stmt)).first()


async def insert_user(session: AsyncSession, values: dict[str, Any]) -> AnyRow | None:
    """Insert a user; None when the email is already taken (case-insensitively)."""
    try:
        async with session.begin_nested():
            result = await session.execute(insert(User).values(**values).returning(*PUBLIC_COLUMNS))
            return result.one()
    except IntegrityError as exc:
        if "uq_users_email_lower" in str(exc.orig):
            return None
        raise
