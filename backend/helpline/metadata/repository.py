"""All SQL for ticket metadata."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.models import Ticket, TicketMetadata


async def get_map(session: AsyncSession, ticket_id: uuid.UUID) -> dict[str, Any]:
    stmt = (
        select(TicketMetadata.key, TicketMetadata.value)
        .where(TicketMetadata.ticket_id == ticket_id)
        .order_by(TicketMetadata.key)
    )
    return {row.key: row.value for row in await session.execute(stmt)}


async def count_other_keys(session: AsyncSession, ticket_id: uuid.UUID, key: str) -> int:
    stmt = select(func.count()).where(
        TicketMetadata.ticket_id == ticket_id, TicketMetadata.key != key
    )
    return int((await session.execute(stmt)).scalar_one())


async def upsert(session: AsyncSession, ticket_id: uuid.UUID, key: str, value: Any) -> bool:
    """Set key to value; True when something changed (a new key or a different value)."""
    base = insert(TicketMetadata).values(ticket_id=ticket_id, key=key, value=value)
    stmt = base.on_conflict_do_update(
        index_elements=[TicketMetadata.ticket_id, TicketMetadata.key],
        set_={"value": base.excluded.value, "updated_at": func.now()},
        where=TicketMetadata.value.is_distinct_from(base.excluded.value),
    ).returning(TicketMetadata.id)
    return (await session.execute(stmt)).first() is not None


async def remove(session: AsyncSession, ticket_id: uuid.UUID, key: str) -> bool:
    stmt = (
        delete(TicketMetadata)
        .where(TicketMetadata.ticket_id == ticket_id, TicketMetadata.key == key)
        .returning(TicketMetadata.id)
    )
    return (await session.execute(stmt)).first() is not None


async def get_maps(
    session: AsyncSession, ticket_ids: list[uuid.UUID], customer_id: uuid.UUID | None
) -> dict[uuid.UUID, dict[str, Any]]:
    """The metadata maps of many tickets in one statement (only tickets visible to a customer
    when ``customer_id`` is given)."""
    stmt = (
        select(TicketMetadata.ticket_id, TicketMetadata.key, TicketMetadata.value)
        .join(Ticket, Ticket.id == TicketMetadata.ticket_id)
        .where(TicketMetadata.ticket_id.in_(ticket_ids), Ticket.deleted_at.is_(None))
        .order_by(TicketMetadata.ticket_id, TicketMetadata.key)
    )
    if customer_id is not None:
        stmt = stmt.where(Ticket.customer_id == customer_id)
    out: dict[uuid.UUID, dict[str, Any]] = {ticket_id: {} for ticket_id in ticket_ids}
    for row in await session.execute(stmt):
        out[row.ticket_id][row.key] = row.value
    return out
