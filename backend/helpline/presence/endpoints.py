"""REST endpoints of presence: thin handlers over the service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from helpline.auth.dependencies import TicketsRead, TicketsWrite
from helpline.db import UnitOfWorkRoute
from helpline.errors import DependencyUnavailable, PermissionDenied
from helpline.http import problem_responses
from helpline.presence.schemas import PresenceList, PresenceUpdate
from helpline.presence.service import PresenceService
from helpline.services import services

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1", tags=["presence"])

TicketId = Annotated[uuid.UUID, Path(description="The ticket.")]
ABOUT = (
    " Presence lives in Redis and expires `ttl_s` (`HELPLINE_PRESENCE_TTL_S`, 30 s) after its "
    "last renewal; a change (someone arrives, starts replying, leaves) is announced on "
    "`GET /api/v1/events/stream?presence=true` as an `event: presence` message. Agents and "
    "admins only; saying you are on a ticket needs `tickets:write` (you are working it), "
    "reading who is where `tickets:read`."
)


def presence_of(request: Request) -> PresenceService:
    found = services(request).presence
    if found is None:  # pragma: no cover - the lifespan always builds it
        raise DependencyUnavailable("Presence is not configured.")
    return found


@router.put(
    "/tickets/{ticket_id}/presence",
    summary="Say you are viewing or replying to a ticket",
    description="Record (or renew) the caller's presence on the ticket; answers everyone "
    "present on it, the caller included. Renew well within `ttl_s`." + ABOUT,
    operation_id="setPresence",
    responses=problem_responses(PermissionDenied, DependencyUnavailable),
)
async def set_presence(
    request: Request, ticket_id: TicketId, body: PresenceUpdate, principal: TicketsWrite
) -> PresenceList:
    return await presence_of(request).set(principal, ticket_id, body.state)


@router.delete(
    "/tickets/{ticket_id}/presence",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Say you left a ticket",
    description="Remove the caller's presence on the ticket at once." + ABOUT,
    operation_id="clearPresence",
    responses=problem_responses(PermissionDenied, DependencyUnavailable),
)
async def clear_presence(
    request: Request, ticket_id: TicketId, principal: TicketsWrite
) -> Response:
    await presence_of(request).clear(principal, ticket_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/presence",
    summary="Who is on which ticket now",
    description="Every staff member's current presence (on one ticket with `ticket_id`), for "
    "the inbox's rows and the ticket page." + ABOUT,
    operation_id="listPresence",
    responses=problem_responses(PermissionDenied, DependencyUnavailable),
)
async def list_presence(
    request: Request,
    principal: TicketsRead,
    ticket_id: Annotated[uuid.UUID | None, Query(description="Only this ticket.")] = None,
) -> PresenceList:
    return await presence_of(request).list(principal, ticket_id)
