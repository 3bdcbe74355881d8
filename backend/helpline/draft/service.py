"""Drafts per user and ticket: only on a ticket the caller may see and write to."""

from __future__ import annotations

import uuid

from helpline.auth.principal import Principal
from helpline.db import UnitOfWork
from helpline.draft import repository
from helpline.draft.schemas import DraftRead, DraftWrite
from helpline.errors import DraftNotFound, PermissionDenied
from helpline.ticket import service as ticket_service


async def get_draft(uow: UnitOfWork, principal: Principal, ticket_id: uuid.UUID) -> DraftRead:
    """The caller's draft on a visible ticket, or 404 (the ticket's, or the draft's)."""
    await ticket_service.get_ticket_entry(uow, principal, ticket_id)
    row = await uow.read(lambda s: repository.get_draft(s, principal.user_id, ticket_id))
    if row is None:
        raise DraftNotFound("You have no draft on this ticket.")
    return DraftRead.model_validate(row)


async def save_draft(
    uow: UnitOfWork, principal: Principal, ticket_id: uuid.UUID, data: DraftWrite
) -> DraftRead:
    """Replace the caller's draft on a visible ticket."""
    if data.is_internal and not principal.is_staff:
        raise PermissionDenied("Only staff write internal notes.")
    await ticket_service.get_ticket_entry(uow, principal, ticket_id)
    row = await repository.save_draft(
        uow.session, principal.user_id, ticket_id, data.body, data.is_internal
    )
    return DraftRead.model_validate(row)


async def discard_draft(uow: UnitOfWork, principal: Principal, ticket_id: uuid.UUID) -> None:
    """Delete the caller's draft on a visible ticket (nothing when there is none); 404 for a
    ticket the caller may not see, as on every route of a ticket."""
    await ticket_service.get_ticket_entry(uow, principal, ticket_id)
    await repository.delete_draft(uow.session, principal.user_id, ticket_id)
