"""REST endpoints for ticket conversations."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from helpline.auth.dependencies import TicketsRead, TicketsWrite
from helpline.conversation import service
from helpline.conversation.schemas import MessageCreate, MessageRead
from helpline.db import UnitOfWorkRoute, UowDep
from helpline.errors import (
    AttachmentNotBindable,
    InvalidCursorError,
    PermissionDenied,
    TicketClosed,
    TicketNotFound,
)
from helpline.http import IDEMPOTENT, JSON_BODY, UNSAFE, json_response, problem_responses
from helpline.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from helpline.services import services

router = APIRouter(
    route_class=UnitOfWorkRoute,
    prefix="/api/v1/tickets/{ticket_id}/conversations",
    tags=["conversations"],
)

TicketId = Annotated[uuid.UUID, Path(description="Ticket id.")]


@router.get(
    "",
    summary="List a ticket's messages",
    description="Oldest first, keyset-paginated. Customers never see internal notes.",
    operation_id="listTicketMessages",
    responses=problem_responses(PermissionDenied, TicketNotFound, InvalidCursorError),
)
async def list_ticket_messages(
    request: Request,
    ticket_id: TicketId,
    uow: UowDep,
    principal: TicketsRead,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Page size (1-100).")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`meta.next_cursor` of the previous page.")
    ] = None,
) -> Page[MessageRead]:
    page = await service.list_messages(
        uow,
        principal,
        ticket_id,
        limit,
        cursor,
        services(request).settings.cursor_secret,
    )
    return Page[MessageRead].of(
        [MessageRead.model_validate(r) for r in page.rows], page.next_cursor
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageRead,
    summary="Add a message",
    description="Add a public reply, or (staff only) an internal note. A closed ticket → 409.",
    operation_id="addTicketMessage",
    responses=problem_responses(
        PermissionDenied,
        *UNSAFE,
        *JSON_BODY,
        *IDEMPOTENT,
        TicketNotFound,
        TicketClosed,
        AttachmentNotBindable,
    ),
)
async def add_ticket_message(
    request: Request, ticket_id: TicketId, body: MessageCreate, uow: UowDep, principal: TicketsWrite
) -> Response:
    mailer = services(request).reply_mailer
    row = await service.add_message(uow, principal, ticket_id, body, mailer=mailer)
    return json_response(MessageRead.model_validate(row), status_code=status.HTTP_201_CREATED)
