"""REST endpoint of the change feed. Thin handler over the service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from helpline.auth.dependencies import TicketsRead
from helpline.db import SessionDep, UnitOfWorkRoute
from helpline.errors import InvalidCursorError, PermissionDenied
from helpline.events import service
from helpline.events.schemas import EventPage, EventPageMeta
from helpline.http import problem_responses
from helpline.kit.pagination import MAX_LIMIT
from helpline.services import services

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1")


@router.get(
    "/events",
    tags=["events"],
    summary="Change feed",
    description="Committed changes of tickets, their metadata, messages and attachments, oldest "
    "first. Resume with `after=<meta.next_cursor>` (or an event's `cursor`): a consumer that "
    "resumes misses nothing and sees nothing twice, also under concurrent writers (an event "
    "becomes visible only once every earlier-positioned transaction has ended). Same visibility "
    "as the resources: customers see only their own tickets' events, never internal notes nor "
    "assignment and priority changes. Events older than the retention "
    "(`HELPLINE_EVENTS_RETENTION_DAYS`) are purged by the worker.",
    operation_id="listEvents",
    responses=problem_responses(PermissionDenied, InvalidCursorError),
)
async def list_events(
    request: Request,
    session: SessionDep,
    principal: TicketsRead,
    after: Annotated[
        str | None,
        Query(max_length=512, description="Resume after this position (`meta.next_cursor`)."),
    ] = None,
    types: Annotated[
        str | None,
        Query(max_length=500, description="Comma list of event types, e.g. `ticket.created`."),
    ] = None,
    ticket_id: Annotated[uuid.UUID | None, Query(description="Only this ticket's events.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (1-100).")] = 100,
) -> EventPage:
    page = await service.read_feed(
        session,
        principal,
        after=after,
        types=service.parse_types(types),
        ticket_id=ticket_id,
        limit=limit,
        cursor_secret=services(request).settings.cursor_secret,
    )
    return EventPage(
        data=page.events, meta=EventPageMeta(next_cursor=page.next_cursor, has_more=page.has_more)
    )
