"""Ticket, conversation and metadata queries and mutations: thin resolvers over the services."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, TypeVar

import strawberry
from pydantic import BaseModel, ValidationError
from strawberry.scalars import JSON

from helpline.auth.permissions import Scope
from helpline.conversation import service as conversation_service
from helpline.conversation.schemas import MessageCreate
from helpline.errors import ValidationFailed
from helpline.graphql.context import parse_id
from helpline.graphql.types import (
    Connection,
    Info,
    Message,
    MetadataEntry,
    Ticket,
    ticket_connection,
)
from helpline.kit.pagination import DEFAULT_LIMIT
from helpline.metadata import service as metadata_service
from helpline.models.enums import TicketPriority, TicketStatus
from helpline.ticket import bulk as ticket_bulk
from helpline.ticket import reads as ticket_reads
from helpline.ticket import service as ticket_service
from helpline.ticket.schemas import (
    SEARCH_CAP,
    TAG_PATTERN,
    BulkOutcome,
    SearchScope,
    TicketBulkItem,
    TicketBulkUpdate,
    TicketCreate,
    TicketFilters,
    TicketSort,
    TicketUpdate,
)

M = TypeVar("M", bound=BaseModel)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def build(model: type[M], values: dict[str, Any]) -> M:
    """Validate input with the REST schema; errors become the same 422 with GraphQL names."""
    try:
        return model(**values)
    except ValidationError as exc:
        errors = [
            {
                "loc": ["input", *(_camel(str(p)) for p in err["loc"])],
                "msg": err["msg"],
                "type": err["type"],
            }
            for err in exc.errors()
        ]
        fields = ", ".join(".".join(map(str, e["loc"][1:])) for e in errors[:5])
        raise ValidationFailed(f"Invalid input: {fields}.", errors=errors) from None


def given(obj: object) -> dict[str, Any]:
    """The input fields the client actually sent (absent fields stay out of the update)."""
    return {
        k: v for k, v in vars(obj).items() if v is not strawberry.UNSET and not k.startswith("_")
    }


def _invalid(field: str, msg: str) -> ValidationFailed:
    return ValidationFailed(
        f"Invalid {field}: {msg}.",
        errors=[{"loc": ["args", "filter", field], "msg": msg, "type": "value_error"}],
    )


@strawberry.input(description="`metadata.<key>=<value>` of the REST list.")
class MetadataFilterInput:
    key: str
    value: str = strawberry.field(
        description='Matches the JSON string, or the JSON scalar it parses as (e.g. "25").'
    )


@strawberry.input(description="Ticket list filters (the REST query parameters); combined with AND.")
class TicketFilterInput:
    status: list[TicketStatus] | None = None
    priority: TicketPriority | None = None
    assigned_to: strawberry.ID | None = None
    customer_id: strawberry.ID | None = None
    created_after: datetime | None = strawberry.field(default=None, description="At or after.")
    created_before: datetime | None = strawberry.field(default=None, description="Before.")
    updated_since: datetime | None = strawberry.field(default=None, description="At or after.")
    number: int | None = strawberry.field(default=None, description="The ticket number.")
    team_id: strawberry.ID | None = strawberry.field(default=None, description="Team id.")
    tags: list[str] | None = strawberry.field(
        default=None, description="Tickets carrying every one of these tags (as REST `tag=`)."
    )
    q: str | None = strawberry.field(
        default=None, description="Full-text search (1-200 chars); `#1234` also finds number 1234."
    )
    q_scope: SearchScope = strawberry.field(
        default=SearchScope.tickets,
        description="Where `q` looks: `tickets` (title, description, number), `messages` (the "
        "conversation's text; customers match public messages only) or `all`.",
    )
    metadata: list[MetadataFilterInput] | None = strawberry.field(
        default=None, description="At most 5 metadata matches."
    )
    sla_breached: bool | None = strawberry.field(
        default=None,
        description="Staff only: true — an SLA target was missed; false — a policy applies and "
        "none was missed (as REST `sla_breached`).",
    )
    sla_due_before: datetime | None = strawberry.field(
        default=None,
        description="Staff only: a running SLA deadline before this instant (REST "
        "`sla_due_before`).",
    )

    def to_filters(self) -> TicketFilters:
        q = self.q.strip() if self.q is not None else None
        if self.q is not None and not 1 <= len(self.q) <= 200:
            raise _invalid("q", "1-200 characters")
        pairs = [(item.key, item.value) for item in self.metadata or []]
        return build(
            TicketFilters,
            {
                "status": tuple(sorted(set(self.status or ()))),
                "priority": self.priority,
                "assigned_to": self.assigned_to and parse_id(self.assigned_to, "filter.assignedTo"),
                "customer_id": self.customer_id and parse_id(self.customer_id, "filter.customerId"),
                "created_after": self.created_after,
                "created_before": self.created_before,
                "updated_since": self.updated_since,
                "number": self.number,
                "team_id": self.team_id and parse_id(self.team_id, "filter.teamId"),
                "tags": tuple(sorted(set(self.tags or ()))),
                "q": q or None,
                "q_scope": self.q_scope,
                "metadata": tuple(sorted(pairs)),
                "sla_breached": self.sla_breached,
                "sla_due_before": self.sla_due_before,
            },
        )


@strawberry.type(description="A run of an excerpt (plain text).")
class ExcerptPart:
    text: str
    match: bool = strawberry.field(description="The run matched the query (highlight it).")


@strawberry.type(description="A ticket found by `searchTickets` (as REST's search hits).")
class SearchHit:
    ticket_id: strawberry.ID
    number: int
    title: str
    status: TicketStatus
    priority: TicketPriority
    updated_at: datetime
    rank: float = strawberry.field(description="Relevance; higher is better.")
    message_id: strawberry.ID | None = strawberry.field(
        description="The best-matching message; null when the ticket's own text matched best."
    )
    message_at: datetime | None
    internal: bool = strawberry.field(description="The match is in an internal note.")
    excerpt: list[ExcerptPart]


@strawberry.type(description="Ranked search results and what was searched.")
class SearchResults:
    hits: list[SearchHit]
    found: int = strawberry.field(description="Tickets among the ranked matches.")
    capped: bool = strawberry.field(
        description=f"A source had more than {SEARCH_CAP} matches; only those were ranked."
    )


@strawberry.type
class TicketQuery:
    @strawberry.field(description="A ticket; null with a `ticket-not-found` error when unseen.")
    async def ticket(self, info: Info, id: strawberry.ID) -> Ticket | None:
        ctx = info.context
        principal = ctx.require(Scope.tickets_read)
        async with ctx.work() as uow:
            row = await ticket_service.get_ticket(uow, principal, parse_id(id, "id"))
        return Ticket.from_row(row)

    @strawberry.field(description="The tickets the caller may see (as `GET /api/v1/tickets`).")
    async def tickets(
        self,
        info: Info,
        filter: TicketFilterInput | None = None,
        first: int = DEFAULT_LIMIT,
        after: str | None = None,
        sort: TicketSort = TicketSort.updated_desc,
    ) -> Connection[Ticket]:
        filters = filter.to_filters() if filter is not None else TicketFilters()
        return await ticket_connection(info, filters, sort, first, after)

    @strawberry.field(
        description="Tickets and messages best matching `q`, ranked, with excerpts (as "
        "`GET /api/v1/tickets/search`); customers match their own tickets' public messages only."
    )
    async def search_tickets(
        self, info: Info, q: str, scope: SearchScope = SearchScope.all, first: int = 20
    ) -> SearchResults:
        ctx = info.context
        principal = ctx.require(Scope.tickets_read)
        words = q.strip()
        if not 1 <= len(words) <= 200:
            raise _search_invalid("q", "1-200 characters, not only spaces")
        if not 1 <= first <= 50:
            raise _search_invalid("first", "1-50")
        async with ctx.work() as uow:
            found = await ticket_service.search_tickets(uow, principal, words, scope, first)
        return SearchResults(
            hits=[
                SearchHit(
                    ticket_id=strawberry.ID(str(hit.ticket_id)),
                    number=hit.number,
                    title=hit.title,
                    status=hit.status,
                    priority=hit.priority,
                    updated_at=hit.updated_at,
                    rank=hit.rank,
                    message_id=None
                    if hit.message_id is None
                    else strawberry.ID(str(hit.message_id)),
                    message_at=hit.message_at,
                    internal=hit.internal,
                    excerpt=[ExcerptPart(text=p.text, match=p.match) for p in hit.excerpt],
                )
                for hit in found.data
            ],
            found=found.meta.found,
            capped=found.meta.capped,
        )


def _search_invalid(field: str, msg: str) -> ValidationFailed:
    return ValidationFailed(
        f"Invalid {field}: {msg}.",
        errors=[{"loc": ["args", field], "msg": msg, "type": "value_error"}],
    )


@strawberry.input(description="A new ticket; `status`, `priority`, `assignedTo` are staff-only.")
class CreateTicketInput:
    title: str
    description: str | None = strawberry.UNSET
    status: TicketStatus | None = strawberry.UNSET
    priority: TicketPriority | None = strawberry.UNSET
    assigned_to: strawberry.ID | None = strawberry.UNSET
    customer_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Required for staff; customers omit it."
    )


@strawberry.input(description="A partial update: only the fields given change.")
class UpdateTicketInput:
    id: strawberry.ID
    expected_version: int | None = strawberry.field(
        default=None, description="The version the change is based on (If-Match); stale → 412."
    )
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    status: TicketStatus | None = strawberry.UNSET
    priority: TicketPriority | None = strawberry.UNSET
    assigned_to: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="New assignee, or null to unassign (staff only)."
    )
    team_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="New team, or null (staff only)."
    )
    tags: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="The whole tag set (staff only)."
    )


@strawberry.input(description="Add or remove one tag (staff only; as `PUT`/`DELETE …/tags/{tag}`).")
class TicketTagInput:
    ticket_id: strawberry.ID
    tag: str
    expected_version: int | None = None


@strawberry.input(description="Soft-delete a ticket (staff only).")
class DeleteTicketInput:
    id: strawberry.ID
    expected_version: int | None = None


@strawberry.type
class DeleteTicketPayload:
    id: strawberry.ID


@strawberry.input(description="A reply or (staff only) an internal note.")
class AddMessageInput:
    ticket_id: strawberry.ID
    message: str
    is_internal: bool = False
    attachment_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="Up to 10 of the caller's own unbound uploads (`POST /api/v1/attachments`) "
        "to attach, as `attachment_ids` in REST.",
    )


@strawberry.input(description="Create or replace one metadata key (staff only).")
class SetTicketMetadataInput:
    ticket_id: strawberry.ID
    key: str
    value: JSON = strawberry.field(description="Any JSON except null, at most 4 KiB.")


@strawberry.input(description="Remove one metadata key (staff only).")
class RemoveTicketMetadataInput:
    ticket_id: strawberry.ID
    key: str


@strawberry.type
class RemoveTicketMetadataPayload:
    ticket_id: strawberry.ID
    key: str


strawberry.enum(BulkOutcome, description="What a bulk change did to one ticket.")


@strawberry.input(
    description="The same change on up to 100 tickets (staff only; as `POST /tickets/bulk`)."
)
class BulkUpdateTicketsInput:
    ticket_ids: list[strawberry.ID]
    status: TicketStatus | None = strawberry.UNSET
    priority: TicketPriority | None = strawberry.UNSET
    assigned_to: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="New assignee, or null to unassign."
    )
    team_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="New team, or null."
    )
    add_tags: list[str] = strawberry.field(default_factory=list, description="Tags to add.")
    remove_tags: list[str] = strawberry.field(default_factory=list, description="Tags to remove.")


@strawberry.type(description="Why one ticket of a bulk change was not changed.")
class BulkProblem:
    type: str
    title: str
    status: int
    detail: str


@strawberry.type(description="One ticket's result in a bulk change.")
class BulkTicketResult:
    ticket_id: strawberry.ID
    outcome: BulkOutcome
    ticket: Ticket | None
    problem: BulkProblem | None

    @classmethod
    def of(cls, item: TicketBulkItem) -> BulkTicketResult:
        problem = item.problem
        return cls(
            ticket_id=strawberry.ID(str(item.ticket_id)),
            outcome=item.outcome,
            ticket=None if item.ticket is None else Ticket.from_row(item.ticket),
            problem=None if problem is None else BulkProblem(**problem.model_dump()),
        )


@strawberry.type
class BulkUpdateTicketsPayload:
    updated: int
    failed: int
    results: list[BulkTicketResult]


async def _change_tag(info: Info, input: TicketTagInput, *, add: bool) -> Ticket:
    ctx = info.context
    principal = ctx.require(Scope.tickets_write)
    ticket_id = parse_id(input.ticket_id, "ticketId")
    if not re.fullmatch(TAG_PATTERN, input.tag):
        raise ValidationFailed(
            "Invalid tag.",
            errors=[{"loc": ["input", "tag"], "msg": TAG_PATTERN, "type": "pattern"}],
        )
    async with ctx.work() as uow:
        row = await ticket_service.change_tag(
            uow, principal, ticket_id, input.tag, add=add, expected_version=input.expected_version
        )
    return Ticket.from_row(row)


def _ids(values: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        if values.get(name) is not None:
            values[name] = parse_id(values[name], _camel(name))
    return values


@strawberry.input(
    description="Mark a ticket read up to a version (staff; as `PUT /api/v1/tickets/{id}/read`)."
)
class MarkTicketReadInput:
    ticket_id: strawberry.ID
    version: int | None = strawberry.field(
        default=None, description="The version seen (omitted: the current one)."
    )


@strawberry.input(
    description="Mark a ticket unread (staff; as `DELETE /api/v1/tickets/{id}/read`)."
)
class MarkTicketUnreadInput:
    ticket_id: strawberry.ID


@strawberry.type(description="How far the caller has read a ticket.")
class ReadMarker:
    ticket_id: strawberry.ID
    seen_version: int = strawberry.field(description="The version read up to.")
    seen_at: datetime
    unread: bool = strawberry.field(description="The ticket changed since that version.")


@strawberry.type
class MarkTicketUnreadPayload:
    ticket_id: strawberry.ID


@strawberry.type
class TicketMutation:
    @strawberry.mutation(description="Mark a ticket read (as `PUT /api/v1/tickets/{id}/read`).")
    async def mark_ticket_read(self, info: Info, input: MarkTicketReadInput) -> ReadMarker:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        ticket_id = parse_id(input.ticket_id, "ticketId")
        if input.version is not None and input.version < 1:
            raise _search_invalid("version", "at least 1")
        async with ctx.work() as uow:
            marker = await ticket_reads.mark_read(uow, principal, ticket_id, input.version)
        return ReadMarker(
            ticket_id=input.ticket_id,
            seen_version=marker.seen_version,
            seen_at=marker.seen_at,
            unread=marker.unread,
        )

    @strawberry.mutation(
        description="Mark a ticket unread (as `DELETE /api/v1/tickets/{id}/read`)."
    )
    async def mark_ticket_unread(
        self, info: Info, input: MarkTicketUnreadInput
    ) -> MarkTicketUnreadPayload:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        ticket_id = parse_id(input.ticket_id, "ticketId")
        async with ctx.work() as uow:
            await ticket_reads.mark_unread(uow, principal, ticket_id)
        return MarkTicketUnreadPayload(ticket_id=input.ticket_id)

    @strawberry.mutation(description="Create a ticket (as `POST /api/v1/tickets`).")
    async def create_ticket(self, info: Info, input: CreateTicketInput) -> Ticket:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        data = build(TicketCreate, _ids(given(input), "assigned_to", "customer_id"))
        async with ctx.work() as uow:
            row = await ticket_service.create_ticket(uow, principal, data)
        return Ticket.from_row(row)

    @strawberry.mutation(description="Update a ticket (as `PATCH`; `expectedVersion` = If-Match).")
    async def update_ticket(self, info: Info, input: UpdateTicketInput) -> Ticket:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        values = given(input)
        ticket_id = parse_id(values.pop("id"), "id")
        expected = values.pop("expected_version", None)
        data = build(TicketUpdate, _ids(values, "assigned_to", "team_id"))
        async with ctx.work() as uow:
            row = await ticket_service.update_ticket(uow, principal, ticket_id, data, expected)
        return Ticket.from_row(row)

    @strawberry.mutation(description="Change many tickets at once (as `POST /tickets/bulk`).")
    async def bulk_update_tickets(
        self, info: Info, input: BulkUpdateTicketsInput
    ) -> BulkUpdateTicketsPayload:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        changes = _ids(given(input), "assigned_to", "team_id")
        ids = [parse_id(i, "ticketIds") for i in changes.pop("ticket_ids")]
        data = build(TicketBulkUpdate, {"ticket_ids": ids, "changes": changes})
        async with ctx.work() as uow:
            result = await ticket_bulk.bulk_update_tickets(uow, principal, data)
        return BulkUpdateTicketsPayload(
            updated=result.updated,
            failed=result.failed,
            results=[BulkTicketResult.of(r) for r in result.results],
        )

    @strawberry.mutation(description="Add a tag to a ticket (as `PUT …/tags/{tag}`).")
    async def add_ticket_tag(self, info: Info, input: TicketTagInput) -> Ticket:
        return await _change_tag(info, input, add=True)

    @strawberry.mutation(description="Remove a tag from a ticket (as `DELETE …/tags/{tag}`).")
    async def remove_ticket_tag(self, info: Info, input: TicketTagInput) -> Ticket:
        return await _change_tag(info, input, add=False)

    @strawberry.mutation(description="Soft-delete a ticket (as `DELETE`).")
    async def delete_ticket(self, info: Info, input: DeleteTicketInput) -> DeleteTicketPayload:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        ticket_id = parse_id(input.id, "id")
        async with ctx.work() as uow:
            await ticket_service.delete_ticket(uow, principal, ticket_id, input.expected_version)
        return DeleteTicketPayload(id=input.id)

    @strawberry.mutation(description="Add a message (as `POST …/conversations`).")
    async def add_message(self, info: Info, input: AddMessageInput) -> Message:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        ticket_id = parse_id(input.ticket_id, "ticketId")
        data = build(
            MessageCreate,
            {
                "message": input.message,
                "is_internal": input.is_internal,
                "attachment_ids": [str(i) for i in input.attachment_ids],
            },
        )
        async with ctx.work() as uow:
            row = await conversation_service.add_message(
                uow, principal, ticket_id, data, mailer=ctx.services.reply_mailer
            )
        return Message.from_row(row)

    @strawberry.mutation(description="Set a metadata key (as `PUT …/metadata/{key}`).")
    async def set_ticket_metadata(self, info: Info, input: SetTicketMetadataInput) -> MetadataEntry:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        ticket_id = parse_id(input.ticket_id, "ticketId")
        key = input.key  # the metadata service checks the key rule
        async with ctx.work() as uow:
            await metadata_service.set_metadata(uow, principal, ticket_id, key, input.value)
        return MetadataEntry(key=key, value=input.value)

    @strawberry.mutation(description="Remove a metadata key (as `DELETE …/metadata/{key}`).")
    async def remove_ticket_metadata(
        self, info: Info, input: RemoveTicketMetadataInput
    ) -> RemoveTicketMetadataPayload:
        ctx = info.context
        principal = ctx.require(Scope.tickets_write)
        ticket_id = parse_id(input.ticket_id, "ticketId")
        key = input.key  # the metadata service checks the key rule
        async with ctx.work() as uow:
            await metadata_service.remove_metadata(uow, principal, ticket_id, key)
        return RemoveTicketMetadataPayload(ticket_id=input.ticket_id, key=key)
