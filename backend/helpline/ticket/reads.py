"""Read markers: which tickets changed since a staff user last opened them (unread).

Per user and ticket, the version they last had open (`PUT /tickets/{id}/read`, sent by the
console's ticket page for the version on screen). A ticket list computes `unread` per row in its
own statement; a user's own changes keep their marker current (a trigger, migration 0023).
Customers have no markers. Marking changes only the caller's cached list pages.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.principal import Principal
from helpline.db import UnitOfWork
from helpline.errors import PermissionDenied, TicketNotFound
from helpline.ticket import cache as ticket_cache
from helpline.ticket import repository
from helpline.ticket.schemas import ReadMarker


def _require_staff(principal: Principal) -> None:
    if not principal.is_staff:
        raise PermissionDenied("Read markers are for staff.")


async def mark_read(
    uow: UnitOfWork, principal: Principal, ticket_id: uuid.UUID, version: int | None
) -> ReadMarker:
    """The caller (staff) has read the ticket up to ``version`` (None: the current one)."""
    _require_staff(principal)
    row = await repository.mark_read(uow.session, principal.user_id, ticket_id, version)
    if row is None:
        raise TicketNotFound()  # staff see every live ticket: nothing to conceal
    ticket_cache.invalidate_reader_after_commit(uow, principal.user_id)
    return ReadMarker(
        ticket_id=row.ticket_id,
        seen_version=row.seen_version,
        seen_at=row.seen_at,
        unread=row.seen_version < row.version,
    )


async def mark_unread(uow: UnitOfWork, principal: Principal, ticket_id: uuid.UUID) -> None:
    """The ticket is unread again for the caller (staff), until they next open it."""
    _require_staff(principal)
    if not await repository.mark_unread(uow.session, principal.user_id, ticket_id):
        raise TicketNotFound()
    ticket_cache.invalidate_reader_after_commit(uow, principal.user_id)


async def unread_of_tickets(
    session: AsyncSession, principal: Principal, ticket_ids: list[uuid.UUID]
) -> dict[uuid.UUID, bool]:
    """Whether each ticket is unread for the caller; empty for customers (no markers)."""
    if not principal.is_staff or not ticket_ids:
        return {}
    return await repository.unread_of_tickets(session, principal.user_id, ticket_ids)
