"""REST endpoints of drafts: thin handlers over the service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from helpline.auth.dependencies import TicketsRead, TicketsWrite
from helpline.db import UnitOfWorkRoute, UowDep
from helpline.draft import service
from helpline.draft.schemas import DraftRead, DraftWrite
from helpline.errors import DraftNotFound, PermissionDenied, TicketNotFound
from helpline.http import problem_responses

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/tickets", tags=["drafts"])

TicketId = Annotated[uuid.UUID, Path(description="The ticket.")]
ABOUT = (
    " A draft is the caller's own (per user and ticket), kept server-side so that it follows "
    "them to another browser; the console autosaves it while typing and discards it on send."
)


@router.get(
    "/{ticket_id}/draft",
    summary="Your draft on a ticket",
    description="The caller's unsent reply or note on the ticket." + ABOUT,
    operation_id="getDraft",
    responses=problem_responses(PermissionDenied, TicketNotFound, DraftNotFound),
)
async def get_draft(uow: UowDep, principal: TicketsRead, ticket_id: TicketId) -> DraftRead:
    return await service.get_draft(uow, principal, ticket_id)


@router.put(
    "/{ticket_id}/draft",
    summary="Save your draft on a ticket",
    description="Create or replace the caller's draft on the ticket." + ABOUT,
    operation_id="saveDraft",
    responses=problem_responses(PermissionDenied, TicketNotFound),
)
async def save_draft(
    uow: UowDep, principal: TicketsWrite, ticket_id: TicketId, body: DraftWrite
) -> DraftRead:
    return await service.save_draft(uow, principal, ticket_id, body)


@router.delete(
    "/{ticket_id}/draft",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Discard your draft on a ticket",
    description="Delete the caller's draft (also when there is none); 404 for a ticket the "
    "caller may not see." + ABOUT,
    operation_id="discardDraft",
    responses=problem_responses(PermissionDenied, TicketNotFound),
)
async def discard_draft(uow: UowDep, principal: TicketsWrite, ticket_id: TicketId) -> Response:
    await service.discard_draft(uow, principal, ticket_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
