"""All SQL for conversation messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, literal, null, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.rows import AnyRow
from helpline.models import Conversation, OutboundEmail, Ticket

# Core columns: statements over them skip the ORM's per-call work; the insert is built once.
CONVERSATIONS = cast(Table, Conversation.__table__)
COLUMNS = tuple(
    CONVERSATIONS.c[name]
    for name in (
        "id",
        "ticket_id",
        "message",
        "sender_id",
        "sender_type",
        "is_internal",
        "timestamp",
        "attachments",
        "channel",
    )
)
OUTBOUND = cast(Table, OutboundEmail.__table__)
# The delivery state of a mailed message (null for the others): the outbox row's, looked up by
# its index on conversation_id.
DELIVERY = (
    select(
        func.jsonb_build_object(
            "status",
            OUTBOUND.c.status,
            "message_id",
            OUTBOUND.c.message_id,
            "error",
            OUTBOUND.c.error,
        )
    )
    .where(OUTBOUND.c.conversation_id == CONVERSATIONS.c.id)
    .limit(1)
    .scalar_subquery()
    .label("delivery")
)
INSERT_MESSAGE = insert(CONVERSATIONS).returning(*COLUMNS, null().label("delivery"))


async def insert_message(session: AsyncSession, values: dict[str, Any]) -> AnyRow:
    return (await session.execute(INSERT_MESSAGE, values)).one()


async def list_messages(
    session: AsyncSession,
    ticket_id: uuid.UUID,
    include_internal: bool,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[AnyRow]:
    """Oldest first; limit + 1 rows so the caller knows whether more follow."""
    stmt = select(*COLUMNS, DELIVERY).where(Conversation.ticket_id == ticket_id)
    if not include_internal:
        stmt = stmt.where(Conversation.is_internal.is_(False))
    if after is not None:
        stmt = stmt.where(
            tuple_(Conversation.timestamp, Conversation.id)
            > tuple_(literal(after[0]), literal(after[1]))
        )
    stmt = stmt.order_by(Conversation.timestamp, Conversation.id).limit(limit + 1)
    return list((await session.execute(stmt)).all())


async def list_messages_of_tickets(
    session: AsyncSession,
    ticket_ids: list[uuid.UUID],
    *,
    include_internal: bool,
    customer_id: uuid.UUID | None,
    per_ticket: int,
    newest_first: bool,
) -> list[AnyRow]:
    """Up to ``per_ticket`` messages of each ticket in one statement (a window query).

    Rows come grouped by ticket, in conversation order; ``customer_id`` restricts the tickets to
    one customer's (visibility is enforced here too, not only by the caller).
    """
    order = (
        (Conversation.timestamp.desc(), Conversation.id.desc())
        if newest_first
        else (Conversation.timestamp.asc(), Conversation.id.asc())
    )
    ranked = (
        select(
            *COLUMNS,
            DELIVERY,
            func.row_number()
            .over(partition_by=Conversation.ticket_id, order_by=order)
            .label("rank"),
        )
        .join(Ticket, Ticket.id == Conversation.ticket_id)
        .where(Conversation.ticket_id.in_(ticket_ids), Ticket.deleted_at.is_(None))
    )
    if not include_internal:
        ranked = ranked.where(Conversation.is_internal.is_(False))
    if customer_id is not None:
        ranked = ranked.where(Ticket.customer_id == customer_id)
    sub = ranked.subquery()
    stmt = (
        select(*(sub.c[c.key] for c in COLUMNS), sub.c.delivery)
        .where(sub.c.rank <= per_ticket)
        .order_by(sub.c.ticket_id, sub.c.timestamp, sub.c.id)
    )
    return list((await session.execute(stmt)).all())
