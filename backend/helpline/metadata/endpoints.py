"""REST endpoints for ticket metadata."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from helpline.auth.dependencies import TicketsRead, TicketsWrite
from helpline.db import UnitOfWorkRoute, UowDep
from helpline.errors import (
    MetadataKeyNotFound,
    MetadataLimitReached,
    PermissionDenied,
    TicketClosed,
    TicketNotFound,
)
from helpline.http import JSON_BODY, UNSAFE, problem_responses
from helpline.metadata import service
from helpline.metadata.schemas import MetadataEntry, MetadataPut
from helpline.models.ticket_metadata import METADATA_KEY_PATTERN

router = APIRouter(
    route_class=UnitOfWorkRoute, prefix="/api/v1/tickets/{ticket_id}/metadata", tags=["metadata"]
)

TicketId = Annotated[uuid.UUID, Path(description="Ticket id.")]
Key = Annotated[str, Path(pattern=METADATA_KEY_PATTERN, description="Metadata key.")]


@router.get(
    "",
    summary="Get a ticket's metadata",
    description="The ticket's metadata as one object, key → JSON value.",
    operation_id="getTicketMetadata",
    responses={
        200: {"content": {"application/json": {"example": {"plan": "pro", "seats": 25}}}},
        **problem_responses(PermissionDenied, TicketNotFound),
    },
)
async def get_ticket_metadata(
    ticket_id: TicketId, uow: UowDep, principal: TicketsRead
) -> dict[str, Any]:
    return await service.get_metadata(uow, principal, ticket_id)


@router.put(
    "/{key}",
    summary="Set a metadata key",
    description="Create or replace one key (staff only). Keys match `^[a-z0-9][a-z0-9_.-]{0,63}$`; "
    "values are any JSON up to 4 KiB; a ticket has at most 100 keys (409 beyond).",
    operation_id="setTicketMetadata",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, *JSON_BODY, TicketNotFound, TicketClosed, MetadataLimitReached
    ),
)
async def set_ticket_metadata(
    ticket_id: TicketId, key: Key, body: MetadataPut, uow: UowDep, principal: TicketsWrite
) -> MetadataEntry:
    await service.set_metadata(uow, principal, ticket_id, key, body.value)
    return MetadataEntry(key=key, value=body.value)


@router.delete(
    "/{key}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a metadata key",
    description="Remove one key (staff only); 404 when the ticket has no such key.",
    operation_id="removeTicketMetadata",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, TicketNotFound, MetadataKeyNotFound, TicketClosed
    ),
)
async def remove_ticket_metadata(
    ticket_id: TicketId, key: Key, uow: UowDep, principal: TicketsWrite
) -> Response:
    await service.remove_metadata(uow, principal, ticket_id, key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
