"""All SQL for macros."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.models import Macro


async def insert_macro(session: AsyncSession, values: dict[str, Any]) -> Macro:
    await session.execute(insert(Macro).values(**values))
    row = await get_macro(session, values["id"])
    if row is None:  # pragma: no cover - the row was inserted just above
        raise LookupError("macro vanished after insert")
    return row


async def get_macro(session: AsyncSession, macro_id: uuid.UUID) -> Macro | None:
    stmt = select(Macro).where(Macro.id == macro_id).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_macros(session: AsyncSession, user_id: uuid.UUID) -> list[Macro]:
    """Shared macros and ``user_id``'s own, most used first."""
    stmt = (
        select(Macro)
        .where(or_(Macro.owner_id.is_(None), Macro.owner_id == user_id))
        .order_by(Macro.usage_count.desc(), func.lower(Macro.name), Macro.id)
        .limit(500)
    )
    return list((await session.execute(stmt)).scalars())


async def update_macro(session: AsyncSession, macro_id: uuid.UUID, values: dict[str, Any]) -> None:
    await session.execute(update(Macro).where(Macro.id == macro_id).values(**values))


async def count_use(session: AsyncSession, macro_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(Macro)
        .where(Macro.id == macro_id)
        .values(usage_count=Macro.usage_count + 1, last_used_at=now)
    )


async def delete_macro(session: AsyncSession, macro_id: uuid.UUID) -> None:
    await session.execute(delete(Macro).where(Macro.id == macro_id))
