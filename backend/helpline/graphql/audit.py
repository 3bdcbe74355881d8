"""Ticket history and audit events: thin resolvers over the audit service."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from helpline.audit import service as audit_service
from helpline.audit.schemas import AuditEventFilters, AuditEventRead
from helpline.auth.permissions import Scope
from helpline.graphql.context import parse_id
from helpline.graphql.types import (
    Connection,
    Edge,
    HistoryEntry,
    Info,
    PageInfo,
    check_page_size,
    history_page,
)
from helpline.history import service as history_service
from helpline.kit.pagination import DEFAULT_LIMIT
from helpline.models.enums import ActorType, AuditOutcome

strawberry.enum(ActorType, description="Kind of actor of an audit event.")
strawberry.enum(AuditOutcome, description="success | failure | denied.")


@strawberry.type(description="An audit event: a data change or an auth/permission/system event.")
class AuditEvent:
    id: strawberry.ID
    occurred_at: datetime
    actor_type: ActorType
    actor_id: strawberry.ID | None
    api_key_id: strawberry.ID | None
    action: str = strawberry.field(description="Dotted action, e.g. `ticket.updated`.")
    entity_type: str | None
    entity_id: str | None
    request_id: str | None
    ip: str | None
    changes: JSON | None = strawberry.field(description="What changed; never secrets.")
    outcome: AuditOutcome

    @classmethod
    def from_read(cls, e: AuditEventRead) -> AuditEvent:
        return cls(
            id=strawberry.ID(str(e.id)),
            occurred_at=e.occurred_at,
            actor_type=ActorType(e.actor_type),
            actor_id=None if e.actor_id is None else strawberry.ID(str(e.actor_id)),
            api_key_id=None if e.api_key_id is None else strawberry.ID(str(e.api_key_id)),
            action=e.action,
            entity_type=e.entity_type,
            entity_id=e.entity_id,
            request_id=e.request_id,
            ip=e.ip,
            changes=e.changes,
            outcome=AuditOutcome(e.outcome),
        )


@strawberry.input(description="Audit event filters (the REST query parameters).")
class AuditEventFilterInput:
    actor_id: strawberry.ID | None = None
    actor_type: ActorType | None = None
    actions: list[str] | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    request_id: str | None = None
    outcome: AuditOutcome | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None

    def to_filters(self) -> AuditEventFilters:
        return AuditEventFilters(
            actor_id=None if self.actor_id is None else parse_id(self.actor_id, "actorId"),
            actor_type=self.actor_type.value if self.actor_type else None,
            actions=tuple(sorted({a.strip() for a in self.actions or () if a.strip()})),
            entity_type=self.entity_type,
            entity_id=self.entity_id,
            request_id=self.request_id,
            outcome=self.outcome.value if self.outcome else None,
            occurred_after=self.occurred_after,
            occurred_before=self.occurred_before,
        )


@strawberry.type
class AuditQuery:
    @strawberry.field(description="A ticket's change history (as `GET …/history`).")
    async def ticket_history(
        self,
        info: Info,
        ticket_id: strawberry.ID,
        first: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Connection[HistoryEntry]:
        ctx = info.context
        principal = ctx.require(Scope.tickets_read)
        check_page_size(first, "first")
        async with ctx.work() as uow:
            page = await history_service.list_history(
                uow,
                principal,
                parse_id(ticket_id, "ticketId"),
                change_set_id=None,
                limit=first,
                cursor=after,
                cursor_secret=ctx.cursor_secret,
            )
        return history_page(ctx.cursor_secret, page)

    @strawberry.field(description="Audit events, newest first (`audit:read`; admins).")
    async def audit_events(
        self,
        info: Info,
        filter: AuditEventFilterInput | None = None,
        first: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Connection[AuditEvent]:
        ctx = info.context
        ctx.require(Scope.audit_read)
        check_page_size(first, "first")
        filters = filter.to_filters() if filter is not None else AuditEventFilters()
        async with ctx.db() as session:
            page = await audit_service.list_audit_events(
                session, filters, limit=first, cursor=after, cursor_secret=ctx.cursor_secret
            )
        events = [AuditEventRead.model_validate(r, from_attributes=True) for r in page.rows]
        # Only the page's end has a resumable cursor in the audit service's API.
        edges = [Edge(cursor=page.next_cursor or "", node=AuditEvent.from_read(e)) for e in events]
        return Connection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.next_cursor is not None, end_cursor=page.next_cursor
            ),
        )
