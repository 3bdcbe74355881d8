"""REST endpoints: the audit-event log. Thin handlers over the service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from helpline.audit import service
from helpline.audit.schemas import AuditEventFilters, AuditEventRead
from helpline.auth.dependencies import require
from helpline.auth.permissions import Scope
from helpline.auth.principal import Principal
from helpline.db import SessionDep, UnitOfWorkRoute
from helpline.errors import InvalidCursorError, PermissionDenied
from helpline.http import problem_responses
from helpline.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from helpline.models.enums import ActorType, AuditOutcome
from helpline.services import services
from helpline.ticket.schemas import Rfc3339

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1")

AuditRead = Annotated[Principal, require(Scope.audit_read)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (1-100).")]
Cursor = Annotated[
    str | None, Query(max_length=512, description="`meta.next_cursor` of the previous page.")
]


@router.get(
    "/audit-events",
    tags=["audit"],
    summary="List audit events",
    description="Audit events, newest first: data changes recorded by database triggers and "
    "auth, permission and system events recorded by the service. Needs `audit:read` (admins). "
    "Filters combine with AND; `action` takes a comma list.",
    operation_id="listAuditEvents",
    responses=problem_responses(PermissionDenied, InvalidCursorError),
)
async def list_audit_events(
    request: Request,
    session: SessionDep,
    _principal: AuditRead,
    actor_id: Annotated[uuid.UUID | None, Query(description="Acting user.")] = None,
    actor_type: Annotated[ActorType | None, Query(description="Kind of actor.")] = None,
    action: Annotated[
        str | None,
        Query(max_length=500, description="Comma list of actions, e.g. `ticket.updated`."),
    ] = None,
    entity_type: Annotated[
        str | None, Query(max_length=100, description="e.g. `ticket`, `user`, `api_key`.")
    ] = None,
    entity_id: Annotated[str | None, Query(max_length=200, description="Entity id.")] = None,
    request_id: Annotated[
        str | None, Query(max_length=128, description="Request that caused the events.")
    ] = None,
    outcome: Annotated[AuditOutcome | None, Query(description="success|failure|denied.")] = None,
    occurred_after: Annotated[Rfc3339 | None, Query(description="At or after (RFC 3339).")] = None,
    occurred_before: Annotated[Rfc3339 | None, Query(description="Before (RFC 3339).")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AuditEventRead]:
    filters = AuditEventFilters(
        actor_id=actor_id,
        actor_type=actor_type.value if actor_type else None,
        actions=tuple(sorted({a.strip() for a in (action or "").split(",") if a.strip()})),
        entity_type=entity_type,
        entity_id=entity_id,
        request_id=request_id,
        outcome=outcome.value if outcome else None,
        occurred_after=occurred_after,
        occurred_before=occurred_before,
    )
    page = await service.list_audit_events(
        session,
        filters,
        limit=limit,
        cursor=cursor,
        cursor_secret=services(request).settings.cursor_secret,
    )
    return Page[AuditEventRead].of(
        [AuditEventRead.model_validate(r, from_attributes=True) for r in page.rows],
        page.next_cursor,
    )
