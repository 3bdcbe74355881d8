"""All SQL of ticket history: a ticket's entries, and the first page of many tickets'."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.models import Ticket, TicketHistory
from helpline.ticket.access import STAFF_ONLY_CHANGE_TYPES, TicketVisibility


async def list_history(
    session: AsyncSession,
    ticket_id: uuid.UUID,
    *,
    public_only: bool,
    change_set_id: uuid.UUID | None,
    after_id: int | None,
    limit: int,
) -> list[TicketHistory]:
    """One keyset page (limit + 1 rows) of a ticket's history, oldest first."""
    stmt = select(TicketHistory).where(TicketHistory.ticket_id == ticket_id)
    if public_only:
        stmt = _public_history(stmt)
    if change_set_id is not None:
        stmt = stmt.where(TicketHistory.change_set_id == change_set_id)
    if after_id is not None:
        stmt = stmt.where(TicketHistory.id > after_id)
    stmt = stmt.order_by(TicketHistory.id).limit(limit + 1)
    return list((await session.execute(stmt)).scalars())


def _public_history(stmt: Any) -> Any:
    return stmt.where(
        TicketHistory.change_type.not_in(STAFF_ONLY_CHANGE_TYPES),
        or_(
            TicketHistory.change_type != "message_added",
            TicketHistory.new_value["is_internal"].as_boolean().is_not(True),
        ),
    )


async def first_history_pages(
    session: AsyncSession,
    ticket_ids: Sequence[uuid.UUID],
    visibility: TicketVisibility,
    per_ticket: int,
) -> list[TicketHistory]:
    """The first `per_ticket` entries of each visible ticket, in one query (GraphQL loaders)."""
    ranked = select(
        TicketHistory.id,
        func.row_number()
        .over(partition_by=TicketHistory.ticket_id, order_by=TicketHistory.id)
        .label("rank"),
    ).join(Ticket, Ticket.id == TicketHistory.ticket_id)
    ranked = ranked.where(TicketHistory.ticket_id.in_(ticket_ids), Ticket.deleted_at.is_(None))
    if visibility.customer_id is not None:
        ranked = ranked.where(Ticket.customer_id == visibility.customer_id)
    if not visibility.sees_internal:
        ranked = _public_history(ranked)
    sub = ranked.subquery()
    stmt = (
        select(TicketHistory)
        .join(sub, sub.c.id == TicketHistory.id)
        .where(sub.c.rank <= per_ticket)
        .order_by(TicketHistory.ticket_id, TicketHistory.id)
    )
    return list((await session.execute(stmt)).scalars())
