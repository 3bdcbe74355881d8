"""GraphQL object types: the REST representations in camelCase, plus nested relations.

Every nested relation resolves through a DataLoader (one query per relation per request, whatever
the number of parents) and through the same visibility rules as the top-level fields.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar, cast

import strawberry
from strawberry.scalars import JSON

from helpline.auth.permissions import Scope
from helpline.conversation import service as conversation_service
from helpline.graphql.context import GraphQLContext
from helpline.history import service as history_service
from helpline.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from helpline.kit.rows import AnyRow
from helpline.models.enums import (
    ChangeType,
    DeliveryStatus,
    MessageChannel,
    Role,
    SenderType,
    TicketPriority,
    TicketStatus,
)
from helpline.ticket import service as ticket_service
from helpline.ticket.schemas import SearchScope, TicketFilters, TicketSort

Info = strawberry.Info[GraphQLContext, None]
N = TypeVar("N")

strawberry.enum(TicketStatus, description="Lifecycle status; `closed` is terminal.")
strawberry.enum(TicketPriority, description="Ticket priority.")
strawberry.enum(Role, description="admin | agent | customer.")
strawberry.enum(SenderType, description="Who wrote a message.")
strawberry.enum(ChangeType, description="Kind of a ticket history entry.")
strawberry.enum(TicketSort, description="Order of a ticket list (REST `sort`).")
strawberry.enum(SearchScope, description="Where a ticket search looks (REST `q_scope`).")
strawberry.enum(MessageChannel, description="How a message arrived: web, api or email.")
strawberry.enum(DeliveryStatus, description="Delivery state of a mailed message.")


@strawberry.type(description="The delivery of a message mailed to the customer.")
class Delivery:
    status: DeliveryStatus
    message_id: str = strawberry.field(description="The mail's Message-ID (without <>).")
    error: str | None = strawberry.field(description="Why it failed or bounced.")

    @classmethod
    def of(cls, value: dict[str, Any] | None) -> Delivery | None:
        if value is None:
            return None
        return cls(
            status=DeliveryStatus(value["status"]),
            message_id=value["message_id"],
            error=value.get("error"),
        )


MAX_LAST_MESSAGES = 20


def check_page_size(value: int, field: str, maximum: int = MAX_LIMIT) -> int:
    from helpline.errors import ValidationFailed

    if not 1 <= value <= maximum:
        raise ValidationFailed(
            f"{field} must be between 1 and {maximum}.",
            errors=[{"loc": ["args", field], "msg": f"1-{maximum}", "type": "range"}],
        )
    return value


def sees_user(info: Info, user_id: uuid.UUID) -> bool:
    """Users are visible to holders of users:read (staff) and, for everyone, themselves."""
    principal = info.context.principal
    return principal.has(Scope.users_read) or principal.user_id == user_id


async def load_user(info: Info, user_id: uuid.UUID | None) -> User | None:
    if user_id is None or not sees_user(info, user_id):
        return None
    row = await info.context.loaders.users.load(user_id)
    return None if row is None else User.from_row(row)


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether another page follows.")
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` to get the next page; null on the last page."
    )


@strawberry.type(description="One item of a connection with its cursor.")
class Edge(Generic[N]):
    cursor: str = strawberry.field(description="Opaque cursor of this item.")
    node: N


@strawberry.type(description="A keyset-paginated list (Relay cursor connection).")
class Connection(Generic[N]):
    edges: list[Edge[N]]
    page_info: PageInfo

    @strawberry.field(description="The items of this page, without cursors.")
    def nodes(self) -> list[N]:
        return [edge.node for edge in self.edges]


@strawberry.type(description="A user of the helpdesk: admin, agent or customer.")
class User:
    id: strawberry.ID
    email: str
    name: str
    role: Role
    is_active: bool = strawberry.field(description="Inactive users cannot authenticate.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: AnyRow) -> User:
        return cls(
            id=strawberry.ID(str(row.id)),
            email=row.email,
            name=row.name,
            role=Role(row.role),
            is_active=row.is_active,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="Tickets this user is the customer of, that the caller sees.")
    async def tickets(
        self,
        info: Info,
        first: int = DEFAULT_LIMIT,
        after: str | None = None,
        sort: TicketSort = TicketSort.updated_desc,
    ) -> Connection[Ticket]:
        filters = TicketFilters(customer_id=uuid.UUID(self.id))
        return await ticket_connection(info, filters, sort, first, after)


@strawberry.type(description="A message of a ticket's conversation, or an internal note.")
class Message:
    id: strawberry.ID
    ticket_id: strawberry.ID
    message: str
    sender_id: strawberry.ID | None = strawberry.field(description="Null for system messages.")
    sender_type: SenderType
    is_internal: bool = strawberry.field(description="Internal note (never shown to customers).")
    timestamp: datetime
    attachments: JSON = strawberry.field(
        description="Attachment descriptors: id, filename, content_type, size, sha256."
    )
    channel: MessageChannel = strawberry.field(description="How it arrived.")
    delivery: Delivery | None = strawberry.field(
        description="For a message mailed to the customer: its delivery state."
    )

    @classmethod
    def from_row(cls, row: AnyRow) -> Message:
        return cls(
            id=strawberry.ID(str(row.id)),
            ticket_id=strawberry.ID(str(row.ticket_id)),
            message=row.message,
            sender_id=None if row.sender_id is None else strawberry.ID(str(row.sender_id)),
            sender_type=SenderType(row.sender_type),
            is_internal=row.is_internal,
            timestamp=row.timestamp,
            attachments=row.attachments,
            channel=MessageChannel(row.channel),
            delivery=Delivery.of(getattr(row, "delivery", None)),
        )

    @strawberry.field(description="The author (null for system messages or users you cannot see).")
    async def sender(self, info: Info) -> User | None:
        return await load_user(info, None if self.sender_id is None else uuid.UUID(self.sender_id))


@strawberry.type(description="One metadata entry of a ticket.")
class MetadataEntry:
    key: str
    value: JSON


@strawberry.type(description="One field-level change of a ticket (written by database triggers).")
class HistoryEntry:
    id: strawberry.ID
    ticket_id: strawberry.ID
    change_type: ChangeType
    changed_by: strawberry.ID | None = strawberry.field(description="Null for system changes.")
    timestamp: datetime
    old_value: JSON | None
    new_value: JSON | None
    change_set_id: strawberry.ID = strawberry.field(
        description="Groups the entries of one transaction."
    )
    request_id: str | None

    @classmethod
    def from_row(cls, row: Any) -> HistoryEntry:
        return cls(
            id=strawberry.ID(str(row.id)),
            ticket_id=strawberry.ID(str(row.ticket_id)),
            change_type=ChangeType(row.change_type),
            changed_by=None if row.changed_by is None else strawberry.ID(str(row.changed_by)),
            timestamp=row.timestamp,
            old_value=row.old_value,
            new_value=row.new_value,
            change_set_id=strawberry.ID(str(row.change_set_id)),
            request_id=row.request_id,
        )


@strawberry.enum(description="An SLA clock: first response, next response or resolution.")
class SlaClockKind(StrEnum):
    first_response = "first_response"
    next_response = "next_response"
    resolution = "resolution"


@strawberry.type(description="A ticket's SLA state.")
class TicketSlaState:
    policy: strawberry.ID | None = strawberry.field(description="The policy that applies.")
    policy_name: str | None
    first_response_due_at: datetime | None
    next_response_due_at: datetime | None
    resolution_due_at: datetime | None
    paused: bool = strawberry.field(description="A clock is open but paused.")
    breached: list[SlaClockKind] = strawberry.field(description="Kinds missed so far.")

    @classmethod
    def from_block(cls, block: Any) -> TicketSlaState:
        return cls(
            policy=None if block.policy is None else strawberry.ID(str(block.policy)),
            policy_name=block.policy_name,
            first_response_due_at=block.first_response_due_at,
            next_response_due_at=block.next_response_due_at,
            resolution_due_at=block.resolution_due_at,
            paused=block.paused,
            breached=[SlaClockKind(k) for k in block.breached],
        )


NOT_LOADED: Any = object()


@strawberry.type(description="A support ticket.")
class Ticket:
    id: strawberry.ID
    number: int = strawberry.field(description="Human-friendly number (`[#1234]` in subjects).")
    title: str
    description: str
    status: TicketStatus
    priority: TicketPriority
    created_at: datetime
    updated_at: datetime
    assigned_to: strawberry.ID | None = strawberry.field(description="Assignee id, if any.")
    customer_id: strawberry.ID
    version: int = strawberry.field(description="+1 on every change; `expectedVersion` value.")
    team_id: strawberry.ID | None = strawberry.field(
        default=None, description="Team the ticket belongs to, if any."
    )
    tags: list[str] = strawberry.field(default_factory=list, description="Tags, sorted.")
    preloaded_metadata: strawberry.Private[dict[str, Any] | None] = None
    # The `sla` block when the ticket came with it (a staff list page, a staff read); else the
    # resolver asks the DataLoader.
    preloaded_sla: strawberry.Private[Any] = NOT_LOADED
    # Whether it is unread for the caller, when the ticket came with it (a staff list page).
    preloaded_unread: strawberry.Private[bool | None] = None

    @classmethod
    def from_row(cls, row: Any) -> Ticket:
        """From a ticket row or a ``TicketDetail`` (what the cached ``get_ticket`` returns)."""
        return cls(
            id=strawberry.ID(str(row.id)),
            number=row.number,
            title=row.title,
            description=row.description,
            status=TicketStatus(row.status),
            priority=TicketPriority(row.priority),
            created_at=row.created_at,
            updated_at=row.updated_at,
            assigned_to=None if row.assigned_to is None else strawberry.ID(str(row.assigned_to)),
            customer_id=strawberry.ID(str(row.customer_id)),
            version=row.version,
            team_id=(
                None if getattr(row, "team_id", None) is None else strawberry.ID(str(row.team_id))
            ),
            tags=list(getattr(row, "tags", ())),
            preloaded_metadata=getattr(row, "metadata", None),
            preloaded_sla=getattr(row, "sla", NOT_LOADED),
            preloaded_unread=getattr(row, "unread", None),
        )

    @property
    def uuid(self) -> uuid.UUID:
        return uuid.UUID(self.id)

    @strawberry.field(description="The customer (visible to staff and to the customer).")
    async def customer(self, info: Info) -> User | None:
        return await load_user(info, uuid.UUID(self.customer_id))

    @strawberry.field(
        description="The assignee; null when unassigned or for callers without `users:read`."
    )
    async def assignee(self, info: Info) -> User | None:
        return await load_user(
            info, None if self.assigned_to is None else uuid.UUID(self.assigned_to)
        )

    @strawberry.field(description="The ticket's metadata, key → JSON value.")
    async def metadata(self, info: Info) -> JSON:
        if self.preloaded_metadata is not None:
            return cast(JSON, self.preloaded_metadata)
        return cast(JSON, await info.context.loaders.metadata.load(self.uuid))

    @strawberry.field(
        description="The conversation, oldest first (customers never see internal notes)."
    )
    async def messages(
        self, info: Info, first: int = DEFAULT_LIMIT, after: str | None = None
    ) -> Connection[Message]:
        check_page_size(first, "first")
        ctx = info.context
        if after is None:
            rows = await ctx.loaders.first_messages.load((self.uuid, first + 1))
            next_cursor = (
                conversation_service.message_cursor(ctx.cursor_secret, rows[first - 1])
                if len(rows) > first
                else None
            )
            rows = rows[:first]
        else:
            async with ctx.work() as uow:
                page = await conversation_service.list_messages(
                    uow, ctx.principal, self.uuid, first, after, ctx.cursor_secret
                )
            rows, next_cursor = page.rows, page.next_cursor
        return message_connection(ctx, rows, next_cursor)

    @strawberry.field(description="The newest messages, in conversation order (at most 20).")
    async def last_messages(self, info: Info, count: int = 5) -> list[Message]:
        check_page_size(count, "count", MAX_LAST_MESSAGES)
        rows = await info.context.loaders.last_messages.load((self.uuid, count))
        return [Message.from_row(r) for r in rows]

    @strawberry.field(
        description="SLA state (staff; null for customers and when no policy applies), kept by "
        "the worker from the history — as REST `GET /api/v1/tickets/{id}/sla`."
    )
    async def sla(self, info: Info) -> TicketSlaState | None:
        if not info.context.principal.is_staff:
            return None
        found = self.preloaded_sla
        if found is NOT_LOADED:
            found = await info.context.loaders.sla.load(self.uuid)
        return None if found is None else TicketSlaState.from_block(found)

    @strawberry.field(
        description="Staff: true when the ticket changed since the caller last opened it (by "
        "someone else), or they never did or marked it unread — as the REST list's `unread`; "
        "`markTicketRead` / `markTicketUnread` set it. Null for customers."
    )
    async def unread(self, info: Info) -> bool | None:
        if not info.context.principal.is_staff:
            return None
        if self.preloaded_unread is not None:
            return self.preloaded_unread
        return await info.context.loaders.unread.load(self.uuid)

    @strawberry.field(description="The ticket's change history, oldest first.")
    async def history(
        self, info: Info, first: int = DEFAULT_LIMIT, after: str | None = None
    ) -> Connection[HistoryEntry]:
        return await history_connection(info, self.uuid, first, after)


def message_connection(
    ctx: GraphQLContext, rows: list[AnyRow], next_cursor: str | None
) -> Connection[Message]:
    edges = [
        Edge(
            cursor=conversation_service.message_cursor(ctx.cursor_secret, r),
            node=Message.from_row(r),
        )
        for r in rows
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=next_cursor is not None, end_cursor=next_cursor),
    )


# Connections that nested fields and top-level queries share (here, beside the types they build,
# so that no module of this package imports one that imports it).
async def ticket_connection(
    info: Info, filters: TicketFilters, sort: TicketSort, first: int, after: str | None
) -> Connection[Ticket]:
    ctx = info.context
    principal = ctx.require(Scope.tickets_read)
    check_page_size(first, "first")
    async with ctx.work() as uow:
        # The same rendered (and cached) page as GET /api/v1/tickets: one list cache for both.
        document = await ticket_service.list_tickets_document(
            uow, principal, filters, sort, first, after, ctx.cursor_secret
        )
    page = document.page()
    edges = [
        Edge(
            cursor=ticket_service.ticket_cursor(ctx.cursor_secret, sort, t), node=Ticket.from_row(t)
        )
        for t in page.data
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=page.meta.has_more, end_cursor=page.meta.next_cursor),
    )


def history_page(
    cursor_secret: bytes, page: history_service.HistoryPage
) -> Connection[HistoryEntry]:
    """A history page as a connection; every edge carries its own cursor."""
    edges = [
        Edge(cursor=history_service.history_cursor(cursor_secret, e), node=HistoryEntry.from_row(e))
        for e in page.rows
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=page.next_cursor is not None, end_cursor=page.next_cursor),
    )


async def history_connection(
    info: Info, ticket_id: uuid.UUID, first: int, after: str | None
) -> Connection[HistoryEntry]:
    """A ticket's history page; first pages of many tickets load in one query."""
    ctx = info.context
    principal = ctx.require(Scope.tickets_read)
    check_page_size(first, "first")
    if after is None:
        page = await ctx.loaders.history.load((ticket_id, first))
    else:
        async with ctx.work() as uow:
            page = await history_service.list_history(
                uow,
                principal,
                ticket_id,
                change_set_id=None,
                limit=first,
                cursor=after,
                cursor_secret=ctx.cursor_secret,
            )
    return history_page(ctx.cursor_secret, page)
