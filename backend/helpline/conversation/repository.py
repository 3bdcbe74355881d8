"""All SQL for conversation messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.rows import AnyRow
from helpline.models import Conversation

COLUMNS = (
    Conversation.id,
    Conversation.ticket_id,
    Conversation.message,
    Conversation.sender_id,
    Conversation.sender_type,
    Conversation.is_internal,
    Conversation.timestamp,
    Conversation.attachments,
)


async def insert_message(session: AsyncSession, values: dict[str, Any]) -> AnyRow:
    return (await session.execute(insert(Conversation).values(**values).returning(*COLUMNS))).one()


async def list_messages(
    session: AsyncSession,
    ticket_id: uuid.UUID,
    include_internal: bool,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[AnyRow]:
    """Oldest first; limit + 1 rows so the caller knows whether more follow."""
    stmt = select(*COLUMNS).where(Conversation.ticket_id == ticket_id)
    if not include_internal:
        stmt = stmt.where(Conversation.is_internal.is_(False))
    if after is not None:
        stmt = stmt.where(
            tuple_(Conversation.timestamp, Conversation.id)
            > tuple_(literal(after[0]), literal(after[1]))
        )
    stmt = stmt.order_by(Conversation.timestamp, Conversation.id).limit(limit + 1)
    return list((await session.execute(stmt)).all())
