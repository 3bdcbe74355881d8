"""All SQL for users."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.rows import AnyRow
from helpline.models import User
from helpline.models.enums import Role

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


async def get_users(session: AsyncSession, user_ids: list[uuid.UUID]) -> list[AnyRow]:
    """The users with these ids (missing ids are simply absent)."""
    return list((await session.execute(select(*PUBLIC_COLUMNS).where(User.id.in_(user_ids)))).all())


async def list_users(
    session: AsyncSession,
    *,
    role: str | None,
    is_active: bool | None,
    email: str | None,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    staff: bool | None = None,
) -> list[AnyRow]:
    """Newest first, keyset-paginated; fetches ``limit + 1`` rows to tell whether more follow."""
    stmt = select(*PUBLIC_COLUMNS)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if staff is not None:
        staff_roles = [Role.agent.value, Role.admin.value]
        stmt = stmt.where(User.role.in_(staff_roles) if staff else User.role.notin_(staff_roles))
    if is_active is not None:
        stmt = stmt.where(User.is_active.is_(is_active))
    if email is not None:
        stmt = stmt.where(func.lower(User.email) == email.lower())
    if after is not None:
        stmt = stmt.where(tuple_(User.created_at, User.id) < tuple_(*after))
    stmt = stmt.order_by(User.created_at.desc(), User.id.desc()).limit(limit + 1)
    return list((await session.execute(stmt)).all())


async def list_staff_directory(session: AsyncSession, limit: int) -> list[AnyRow]:
    """Active agents and admins by name (id, name, email, role): the console's directory;
    ``limit + 1`` rows, to tell whether it was cut."""
    stmt = (
        select(User.id, User.name, User.email, User.role)
        .where(User.role.in_([Role.agent.value, Role.admin.value]), User.is_active.is_(True))
        .order_by(func.lower(User.name), User.id)
        .limit(limit + 1)
    )
    return list((await session.execute(stmt)).all())


async def update_user(
    session: AsyncSession, user_id: uuid.UUID, values: dict[str, Any]
) -> AnyRow | None:
    stmt = (
        update(User)
        .where(User.id == user_id)
        .values(**values, updated_at=func.now())
        .returning(*PUBLIC_COLUMNS)
    )
    return (await session.execute(stmt)).first()


async def lock_user(session: AsyncSession, user_id: uuid.UUID) -> AnyRow | None:
    stmt = select(*PUBLIC_COLUMNS).where(User.id == user_id).with_for_update()
    return (await session.execute(stmt)).first()


async def count_active_admins(session: AsyncSession) -> int:
    """Active admins, with their rows locked so two demotions cannot both pass the check."""
    ids = select(User.id).where(User.role == "admin", User.is_active.is_(True)).with_for_update()
    return len((await session.execute(ids)).all())


async def get_login_candidate(session: AsyncSession, email: str) -> AnyRow | None:
    stmt = select(User.id, User.role, User.is_active, User.password_hash).where(
        func.lower(User.email) == email.lower()
    )
    return (await session.execute(stmt)).first()


async def get_credentials(session: AsyncSession, user_id: uuid.UUID) -> AnyRow | None:
    stmt = select(User.id, User.email, User.name, User.is_active, User.password_hash).where(
        User.id == user_id
    )
    return (await session.execute(stmt)).first()


async def set_password_hash(session: AsyncSession, user_id: uuid.UUID, password_hash: str) -> None:
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(password_hash=password_hash, updated_at=func.now())
    )


async def set_last_login(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> None:
    await session.execute(update(User).where(User.id == user_id).values(last_login_at=at))
