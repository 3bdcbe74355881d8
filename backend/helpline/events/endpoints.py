"""REST endpoint of the change feed. Thin handler over the service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from helpline.auth.dependencies import TicketsRead
from helpline.db import SessionDep, UnitOfWorkRoute
from helpline.errors import InvalidCursorError, PermissionDenied
from helpline.events import live, service
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


class EventStreamResponse(StreamingResponse):
    media_type = "text/event-stream"


STREAM_HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",  # nginx and compatible proxies: pass each message on at once
}


@router.get(
    "/events/stream",
    tags=["events"],
    summary="Change feed as Server-Sent Events",
    description="The change feed of `GET /api/v1/events`, pushed as it happens "
    "(`text/event-stream`): the same events, visibility and cursors. Each event is one message "
    "whose `id:` is its feed cursor and whose `data:` is the event as `/events` returns it; a "
    "client that reconnects with `Last-Event-ID` (browsers do it by themselves) misses nothing "
    "and sees nothing twice. The stream starts after `Last-Event-ID`, else after `after`, else "
    "at the feed's current end; its first message is `event: ready` carrying that start "
    'position as `id:` and `data: {"cursor": …}`. While idle it sends a comment line '
    "(`: heartbeat`) every `HELPLINE_EVENTS_STREAM_HEARTBEAT_S` (15 s). A change reaches the "
    "streams of every API process within the poll interval at worst "
    "(`HELPLINE_EVENTS_STREAM_POLL_S`, 1 s), at once when Redis is up. The stream ends after "
    "`HELPLINE_EVENTS_STREAM_MAX_S` (300 s): reconnect with `Last-Event-ID`, your credentials "
    "are checked again then. Cookie sessions (`EventSource` with credentials) and API keys "
    "both work.",
    operation_id="streamEvents",
    response_class=EventStreamResponse,
    responses={
        200: {
            "description": "An endless `text/event-stream` (see the description).",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **problem_responses(PermissionDenied, InvalidCursorError),
    },
)
async def stream_events(
    request: Request,
    session: SessionDep,
    principal: TicketsRead,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            max_length=512,
            description="Resume after this event (its `id:`, a feed cursor).",
        ),
    ] = None,
    after: Annotated[
        str | None,
        Query(max_length=512, description="Start after this feed cursor (as in `/events`)."),
    ] = None,
    types: Annotated[
        str | None,
        Query(max_length=500, description="Comma list of event types, e.g. `ticket.created`."),
    ] = None,
    ticket_id: Annotated[uuid.UUID | None, Query(description="Only this ticket's events.")] = None,
    presence: Annotated[
        bool,
        Query(
            description="Also send presence (staff only, no `id:`): right after `ready`, "
            "everyone present now (`event: presence-snapshot`, data as `GET /api/v1/presence` "
            "answers; absent when Redis cannot say), then each change (`event: presence`, data "
            "as one entry of that list, `state` null when someone left)."
        ),
    ] = False,
) -> EventStreamResponse:
    state = services(request)
    settings = state.settings
    secret = settings.cursor_secret
    wanted = service.parse_types(types)
    start = last_event_id or after
    if start:
        service.decode_position(secret, start)  # a bad cursor is a 400 now, not a broken stream
    else:
        start = await service.current_position(session, secret)
    # The request's transaction ends when this returns: the stream holds no connection.
    read = live.page_reader(state, principal, types=wanted, ticket_id=ticket_id)
    watcher = state.feed_watcher
    if watcher is None:  # pragma: no cover - the lifespan always builds one
        raise RuntimeError("no feed watcher")
    body = live.stream_feed(
        watcher,
        read,
        start,
        heartbeat_s=settings.events_stream_heartbeat_s,
        max_s=settings.events_stream_max_s,
        coalesce_s=settings.events_stream_coalesce_ms / 1000,
        presence=presence and principal.is_staff,
        presence_snapshot=live.presence_snapshot(state, principal),
        share=live.share_key(principal, types=wanted, ticket_id=ticket_id),
    )
    return EventStreamResponse(body, headers=STREAM_HEADERS)
