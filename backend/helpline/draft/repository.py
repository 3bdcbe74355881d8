"""SQL of drafts."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import func

from helpline.models.ticket_draft import TicketDraft


async def get_draft(
    session: AsyncSession, user_id: uuid.UUID, ticket_id: uuid.UUID
) -> TicketDraft | None:
    return await session.scalar(
        select(TicketDraft).where(
            TicketDraft.user_id == user_id, TicketDraft.ticket_id == ticket_id
        )
    )


async def save_draft(
    session: AsyncSession, user_id: uuid.UUID, ticket_id: uuid.UUID, body: str, is_internal: bool
) -> TicketDraft:
    """Insert or replace the draft (one statement)."""
    statement = (
        insert(TicketDraft)
        .values(user_id=user_id, ticket_id=ticket_id, body=body, is_internal=is_internal)
        .on_conflict_do_update(
            index_elements=[TicketDraft.user_id, TicketDraft.ticket_id],
            set_={"body": body, "is_internal": is_internal, "updated_at": func.now()},
        )
        .returning(TicketDraft)
        .execution_options(populate_existing=True)
    )
    row: TicketDraft = (await session.scalars(statement)).one()
    return row


async def delete_draft(session: AsyncSession, user_id: uuid.UUID, ticket_id: uuid.UUID) -> bool:
    result = await session.execute(
        delete(TicketDraft).where(
            TicketDraft.user_id == user_id, TicketDraft.ticket_id == ticket_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
