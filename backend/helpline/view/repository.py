"""All SQL for saved views. Every statement names the owner: a view is only ever read or
changed through its user's id."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, exists, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from helpline.models import SavedView


def _ordered() -> tuple[Any, ...]:
    return (SavedView.position, func.lower(SavedView.name), SavedView.id)


async def lock_owner(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Serialize the writes of one user's views (the cap and the single default hold under
    concurrent requests); transaction-scoped."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('saved_views'), hashtext(:user_id))"),
        {"user_id": str(user_id)},
    )


async def list_views(session: AsyncSession, user_id: uuid.UUID, limit: int) -> list[SavedView]:
    stmt = select(SavedView).where(SavedView.user_id == user_id).order_by(*_ordered()).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def get_view(
    session: AsyncSession, user_id: uuid.UUID, view_id: uuid.UUID
) -> SavedView | None:
    stmt = select(SavedView).where(SavedView.id == view_id, SavedView.user_id == user_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_and_name_taken(
    session: AsyncSession, user_id: uuid.UUID, name: str
) -> tuple[int, bool]:
    """How many views the user has, and whether one is named ``name`` (case-insensitively)."""
    stmt = select(
        func.count(),
        func.coalesce(func.bool_or(func.lower(SavedView.name) == func.lower(name)), False),
    ).where(SavedView.user_id == user_id)
    count, taken = (await session.execute(stmt)).one()
    return int(count), bool(taken)


async def insert_view(
    session: AsyncSession, values: dict[str, Any], position: int | None, cap: int
) -> SavedView | None:
    """Insert unless the user has ``cap`` views or one with this name (None then); without a
    position it goes after the user's last view. One statement."""
    user_id = values["user_id"]
    next_position = (
        literal(position)
        if position is not None
        else select(func.coalesce(func.max(SavedView.position) + 1, 0))
        .where(SavedView.user_id == user_id)
        .scalar_subquery()
    )
    room = select(func.count()).where(SavedView.user_id == user_id).scalar_subquery() < cap
    source = select(
        literal(values["id"]),
        literal(user_id),
        literal(values["name"]),
        literal(values["query"], SavedView.query.type),
        next_position,
        literal(values["is_default"]),
    ).where(room)
    stmt = (
        insert(SavedView)
        .from_select(["id", "user_id", "name", "query", "position", "is_default"], source)
        .on_conflict_do_nothing(index_elements=[SavedView.user_id, func.lower(SavedView.name)])
        .returning(SavedView)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def clear_default(
    session: AsyncSession, user_id: uuid.UUID, keep: uuid.UUID | None = None
) -> None:
    """The user's default view is no longer the default (except ``keep``)."""
    stmt = update(SavedView).where(SavedView.user_id == user_id, SavedView.is_default)
    if keep is not None:
        stmt = stmt.where(SavedView.id != keep)
    await session.execute(stmt.values(is_default=False))


async def update_view(
    session: AsyncSession, user_id: uuid.UUID, view_id: uuid.UUID, values: dict[str, Any]
) -> SavedView | None:
    """The changed view; None when the user has no such view or (a new name) another of theirs
    has the name. Under :func:`lock_owner` no other write can take the name in between, so the
    unique index never fires here (and no savepoint is needed). One statement."""
    stmt = update(SavedView).where(SavedView.id == view_id, SavedView.user_id == user_id)
    if "name" in values:
        other = aliased(SavedView)
        stmt = stmt.where(
            ~exists().where(
                other.user_id == user_id,
                func.lower(other.name) == func.lower(values["name"]),
                other.id != view_id,
            )
        )
    stmt = stmt.values(**values).returning(SavedView).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def delete_view(session: AsyncSession, user_id: uuid.UUID, view_id: uuid.UUID) -> bool:
    result = await session.execute(
        delete(SavedView).where(SavedView.id == view_id, SavedView.user_id == user_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
