"""REST endpoint: a ticket's history. A thin handler over the service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from helpline.auth.dependencies import TicketsRead
from helpline.db import UnitOfWorkRoute, UowDep
from helpline.errors import InvalidCursorError, PermissionDenied, TicketNotFound
from helpline.history import service
from helpline.history.schemas import HistoryEntryRead
from helpline.http import problem_responses
from helpline.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from helpline.services import services

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1")

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (1-100).")]
Cursor = Annotated[
    str | None, Query(max_length=512, description="`meta.next_cursor` of the previous page.")
]


@router.get(
    "/tickets/{ticket_id}/history",
    tags=["tickets"],
    summary="Ticket history",
    description="Field-level changes of a ticket, oldest first, one entry per changed field; "
    "the entries of one request share a `change_set_id` (filter with `change_set_id`). Written "
    "by database triggers. Customers see only the public part of their own tickets' history: "
    "no assignment or priority changes and no internal notes.",
    operation_id="getTicketHistory",
    responses=problem_responses(PermissionDenied, TicketNotFound, InvalidCursorError),
)
async def list_ticket_history(
    request: Request,
    uow: UowDep,
    principal: TicketsRead,
    ticket_id: Annotated[uuid.UUID, Path(description="Ticket id.")],
    change_set_id: Annotated[
        uuid.UUID | None, Query(description="Only the entries of this change set.")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[HistoryEntryRead]:
    page = await service.list_history(
        uow,
        principal,
        ticket_id,
        change_set_id=change_set_id,
        limit=limit,
        cursor=cursor,
        cursor_secret=services(request).settings.cursor_secret,
    )
    return Page[HistoryEntryRead].of(page.rows, page.next_cursor)
