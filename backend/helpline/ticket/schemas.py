"""Ticket representations (field names are part of the API contract)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic.json_schema import SkipJsonSchema

from helpline.kit.patch import PatchBody
from helpline.kit.unicode import BIDI_CONTROLS
from helpline.models.enums import TicketPriority, TicketStatus
from helpline.models.ticket_metadata import METADATA_KEY_PATTERN
from helpline.sla.schemas import TicketSla

EXAMPLE_TICKET: dict[str, Any] = {
    "id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b10",
    "number": 1234,
    "title": "Cannot reset my password",
    "description": "The reset link in the email says it has expired.",
    "status": "open",
    "priority": "high",
    "created_at": "2026-11-20T09:15:02Z",
    "updated_at": "2026-11-20T10:02:44Z",
    "assigned_to": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b11",
    "customer_id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b12",
    "version": 3,
    "team_id": None,
    "tags": ["billing", "vip"],
}

TAG_PATTERN = r"^[a-z0-9][a-z0-9_.:-]{0,49}$"
MAX_TAGS = 50
Tag = Annotated[str, StringConstraints(pattern=TAG_PATTERN)]


def normalize_tags(tags: list[str] | tuple[str, ...]) -> list[str]:
    """Sorted and unique: how tags are stored (the database checks it)."""
    return sorted(set(tags))


def _no_bidi_controls(value: str) -> str:
    """Refuse bidirectional controls: U+202E makes "invoice\u202egpj.exe" read as
    "invoiceexe.jpg". A title is shown as typed, so it is refused rather than silently changed."""
    found = BIDI_CONTROLS.search(value)
    if found:
        raise ValueError(
            f"bidirectional control character U+{ord(found.group()):04X} is not allowed"
        )
    return value


TitleText = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_bidi_controls)]
DescriptionText = Annotated[str, Field(max_length=100_000)]
RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _require_rfc3339(value: Any) -> Any:
    if not isinstance(value, str) or not RFC3339_RE.match(value):
        raise ValueError("expected an RFC 3339 date-time with offset, e.g. 2026-11-20T09:15:02Z")
    return value


Rfc3339 = Annotated[AwareDatetime, BeforeValidator(_require_rfc3339)]

MAX_METADATA_FILTERS = 5
MetadataFilterKey = Annotated[str, StringConstraints(pattern=METADATA_KEY_PATTERN)]
MetadataFilterValue = Annotated[str, StringConstraints(max_length=1024)]

Title = Field(min_length=1, max_length=200, description="Short summary, 1-200 characters.")
Description = Field(max_length=100_000, description="Full description, up to 100,000 characters.")


class TicketCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Cannot reset my password",
                    "description": "The reset link in the email says it has expired.",
                    "priority": "high",
                    "customer_id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b12",
                }
            ]
        },
    )

    title: Annotated[str, AfterValidator(_no_bidi_controls)] = Title
    description: str = Field("", max_length=100_000, description=Description.description)
    status: TicketStatus = Field(TicketStatus.new, description="Initial status (staff only).")
    priority: TicketPriority = Field(TicketPriority.normal, description="Priority (staff only).")
    assigned_to: uuid.UUID | None = Field(
        None, description="Assignee: an agent or admin (staff only)."
    )
    customer_id: uuid.UUID | None = Field(
        None, description="Customer the ticket is for: required for staff; customers omit it."
    )
    team_id: uuid.UUID | None = Field(None, description="Team (staff only).")
    tags: list[Tag] = Field(
        default_factory=list, max_length=MAX_TAGS, description="Tags (staff only)."
    )


class TicketUpdate(PatchBody):
    """Only the fields present are changed; `assigned_to: null` unassigns, `team_id: null`
    leaves the team; `null` for any other field is a 422 naming it."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"assigned_to", "team_id"})

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "pending", "priority": "urgent"}]},
    )

    # `null` is not part of the schema for these fields (PatchBody answers it with a 422).
    title: TitleText | SkipJsonSchema[None] = Field(None, description=Title.description)
    description: DescriptionText | SkipJsonSchema[None] = Field(
        None, description=Description.description
    )
    status: TicketStatus | SkipJsonSchema[None] = Field(
        None, description="New status; `closed` is terminal."
    )
    priority: TicketPriority | SkipJsonSchema[None] = Field(
        None, description="New priority (staff only)."
    )
    assigned_to: uuid.UUID | None = Field(None, description="New assignee, or null (staff only).")
    team_id: uuid.UUID | None = Field(None, description="New team, or null (staff only).")
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] | SkipJsonSchema[None] = Field(
        None,
        description="The whole tag set (staff only); `PUT`/`DELETE …/tags/{tag}` change one.",
    )


class TicketRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [EXAMPLE_TICKET]}
    )

    id: uuid.UUID = Field(description="Ticket id (UUIDv7).")
    number: int = Field(
        description="Human-friendly number (sequential, unique): shown in the UI and in mail "
        "subjects as `[#1234]`; `q=#1234` finds the ticket."
    )
    title: str = Field(description="Short summary.")
    description: str = Field(description="Full description.")
    status: TicketStatus = Field(description="Lifecycle status.")
    priority: TicketPriority = Field(description="Priority.")
    created_at: datetime = Field(description="Creation time (UTC).")
    updated_at: datetime = Field(description="Time of the last change (UTC).")
    assigned_to: uuid.UUID | None = Field(description="Assignee, if any.")
    customer_id: uuid.UUID = Field(description="Customer the ticket belongs to.")
    version: int = Field(description="+1 on every change; the ETag / If-Match value.")
    # Defaults: a cached body written before tags and teams existed still parses.
    team_id: uuid.UUID | None = Field(None, description="Team the ticket belongs to, if any.")
    tags: list[str] = Field(default_factory=list, description="Tags, sorted.")


EXAMPLE_SLA: dict[str, Any] = {
    "policy": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b20",
    "policy_name": "Standard",
    "first_response_due_at": "2026-11-20T11:15:02Z",
    "next_response_due_at": None,
    "resolution_due_at": "2026-11-21T09:15:02Z",
    "paused": False,
    "breached": [],
}
SLA_DESCRIPTION = (
    "Staff only (absent for customers): the ticket's SLA state, the fields of "
    "`GET /tickets/{id}/sla`; null when no policy applies. Kept by the worker from the ticket's "
    "history, so it lags a write by about a second."
)


EXAMPLE_CUSTOMER: dict[str, Any] = {
    "id": EXAMPLE_TICKET["customer_id"],
    "name": "Alice Example",
    "email": "alice@example.com",
}


class TicketCustomer(BaseModel):
    """Who a listed ticket is for (staff only)."""

    id: uuid.UUID = Field(description="The customer's user id (= `customer_id`).")
    name: str = Field(description="Their name.")
    email: str = Field(description="Their email address.")


class TicketListItem(TicketRead):
    """A ticket in a list: the representation plus, for staff, its `sla` block, its customer
    and whether it is unread for the caller."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**EXAMPLE_TICKET, "sla": EXAMPLE_SLA, "customer": EXAMPLE_CUSTOMER, "unread": True}
            ]
        }
    )

    sla: TicketSla | None = Field(None, description=SLA_DESCRIPTION)
    customer: TicketCustomer | None = Field(
        None, description="Staff only (absent for customers): the customer's id, name and email."
    )
    unread: bool | None = Field(
        None,
        description="Staff only (absent for customers): true when the ticket changed (a field, "
        "its metadata or a new message) since the caller last opened it — by someone else: "
        "their own changes keep it read — or they never opened it, or marked it unread. "
        "`PUT /api/v1/tickets/{id}/read` marks it read, `DELETE` unread.",
    )


class ReadMarkerWrite(BaseModel):
    """What the caller has read of the ticket."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"version": 3}]})

    version: int | None = Field(
        None,
        ge=1,
        description="The version the caller has seen (the one on screen); omitted: the current "
        "one. A higher one than the ticket's counts as the current one; a marker never moves "
        "back (`DELETE` marks the ticket unread).",
    )


class ReadMarker(BaseModel):
    """How far the caller has read a ticket."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ticket_id": EXAMPLE_TICKET["id"],
                    "seen_version": 3,
                    "seen_at": "2026-11-20T10:05:00Z",
                    "unread": False,
                }
            ]
        }
    )

    ticket_id: uuid.UUID = Field(description="The ticket.")
    seen_version: int = Field(description="The version the caller has read up to.")
    seen_at: datetime = Field(description="When they marked it (UTC).")
    unread: bool = Field(description="True when the ticket has changed since that version.")


class TicketDetail(TicketRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**EXAMPLE_TICKET, "metadata": {"plan": "pro"}, "sla": EXAMPLE_SLA}]
        }
    )

    metadata: dict[str, Any] = Field(description="The ticket's metadata, key → JSON value.")
    sla: TicketSla | None = Field(None, description=SLA_DESCRIPTION)


NUMBER_QUERY_RE = re.compile(r"^#?([0-9]{1,18})$")


def ticket_number_in(q: str) -> int | None:
    """The ticket number a search asks for (`#1234` or `1234`), if it is one."""
    match = NUMBER_QUERY_RE.match(q.strip())
    return int(match.group(1)) if match else None


class TicketSort(StrEnum):
    updated_desc = "-updated_at"
    updated_asc = "updated_at"
    created_desc = "-created_at"
    created_asc = "created_at"
    # Earliest running SLA deadline first; tickets without one after them (staff only).
    sla_due = "sla_due"


class SearchScope(StrEnum):
    """Where `q` looks: the ticket itself, its messages, or both."""

    tickets = "tickets"  # title, description and number
    messages = "messages"  # the conversation's text (customers: public messages only)
    all = "all"


class TicketFilters(BaseModel):
    """Normalized list filters (also the basis of cache keys)."""

    model_config = ConfigDict(frozen=True)

    status: tuple[TicketStatus, ...] = ()
    priority: TicketPriority | None = None
    assigned_to: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    created_after: AwareDatetime | None = None
    created_before: AwareDatetime | None = None
    updated_since: AwareDatetime | None = None
    number: int | None = None
    team_id: uuid.UUID | None = None
    tags: tuple[Tag, ...] = Field((), max_length=10)
    q: str | None = None
    q_scope: SearchScope = SearchScope.tickets
    # Staff only: a target missed (true) / a policy applies and none missed (false); a running
    # deadline before this instant.
    sla_breached: bool | None = None
    sla_due_before: AwareDatetime | None = None
    # `metadata.<key>=<value>` matches; one rule for REST and GraphQL alike.
    metadata: tuple[tuple[MetadataFilterKey, MetadataFilterValue], ...] = Field(
        (), max_length=MAX_METADATA_FILTERS
    )


COUNT_CAP = 1000


class StatusCount(BaseModel):
    status: TicketStatus = Field(description="A ticket status.")
    count: int = Field(description=f"Matching tickets, exact up to the cap ({COUNT_CAP}).")
    capped: bool = Field(description="True when there are more than `count` (shown as `1000+`).")


class TicketCounts(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "by": "status",
                    "cap": COUNT_CAP,
                    "counts": [
                        {"status": "new", "count": 12, "capped": False},
                        {"status": "open", "count": 1000, "capped": True},
                    ],
                }
            ]
        }
    )

    by: str = Field(description="What the counts are grouped by (`status`).")
    cap: int = Field(description="Counts stop at this number (`capped` says there are more).")
    counts: list[StatusCount] = Field(description="One entry per status, in lifecycle order.")


SEARCH_CAP = 1000  # matches taken from each index before ranking (GET /tickets/search)


class ExcerptPart(BaseModel):
    text: str = Field(description="A run of the excerpt's text (plain text, never markup).")
    match: bool = Field(description="True for a run that matched the query (highlight it).")


class SearchHit(BaseModel):
    ticket_id: uuid.UUID = Field(description="The ticket.")
    number: int = Field(description="Its number.")
    title: str = Field(description="Its title.")
    status: TicketStatus = Field(description="Its status.")
    priority: TicketPriority = Field(description="Its priority.")
    updated_at: datetime = Field(description="Its last change.")
    rank: float = Field(description="Relevance (higher is better); ties go to the newer change.")
    message_id: uuid.UUID | None = Field(
        description="The best-matching message, or null when the ticket's own title, description "
        "or number matched best."
    )
    message_at: datetime | None = Field(description="When that message was written.")
    internal: bool = Field(description="The match is in an internal note (staff only).")
    excerpt: list[ExcerptPart] = Field(
        description="Up to two fragments of the matching text around the matched words, as runs "
        "of plain text (`match: true` for the matched words); fragments are joined by ` … `."
    )


class SearchMeta(BaseModel):
    q: str = Field(description="The query, as given (trimmed).")
    scope: SearchScope = Field(description="Where it looked.")
    limit: int = Field(description="At most this many hits.")
    found: int = Field(description="Tickets among the ranked matches (exact unless `capped`).")
    capped: bool = Field(
        description=f"True when a source had more than {SEARCH_CAP} matches: only the first "
        f"{SEARCH_CAP} were ranked; narrow the query."
    )


class SearchResults(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "data": [
                        {
                            "ticket_id": "0193c0de-7a1b-7c3d-9e4f-5a6b7c8d9e0f",
                            "number": 1042,
                            "title": "Printer on fire",
                            "status": "open",
                            "priority": "high",
                            "updated_at": "2026-12-07T10:15:00Z",
                            "rank": 0.0993,
                            "message_id": "0193c0df-1111-7c3d-9e4f-5a6b7c8d9e0f",
                            "message_at": "2026-12-07T10:14:00Z",
                            "internal": False,
                            "excerpt": [
                                {"text": "the toner ", "match": False},
                                {"text": "smoke", "match": True},
                                {"text": " came out of the tray", "match": False},
                            ],
                        }
                    ],
                    "meta": {
                        "q": "smoke",
                        "scope": "all",
                        "limit": 20,
                        "found": 1,
                        "capped": False,
                    },
                }
            ]
        }
    )

    data: list[SearchHit] = Field(description="Best match first.")
    meta: SearchMeta = Field(description="What was searched and how much matched.")


MAX_BULK_TICKETS = 100


class TicketBulkChanges(BaseModel):
    """What a bulk update changes on every ticket; at least one field."""

    model_config = ConfigDict(extra="forbid")

    status: TicketStatus | SkipJsonSchema[None] = Field(None, description="New status.")
    priority: TicketPriority | SkipJsonSchema[None] = Field(None, description="New priority.")
    assigned_to: uuid.UUID | None = Field(None, description="New assignee, or null (unassign).")
    team_id: uuid.UUID | None = Field(None, description="New team, or null (no team).")
    add_tags: list[Tag] = Field(
        default_factory=list, max_length=MAX_TAGS, description="Tags to add."
    )
    remove_tags: list[Tag] = Field(
        default_factory=list, max_length=MAX_TAGS, description="Tags to remove."
    )


class TicketBulkUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "ticket_ids": [
                        "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b10",
                        "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b13",
                    ],
                    "changes": {"status": "pending", "add_tags": ["billing"]},
                }
            ]
        },
    )

    ticket_ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=MAX_BULK_TICKETS,
        description=f"The tickets to change (1-{MAX_BULK_TICKETS}, each once).",
    )
    changes: TicketBulkChanges = Field(description="The changes, applied to every ticket.")


class BulkOutcome(StrEnum):
    updated = "updated"
    unchanged = "unchanged"
    not_found = "not_found"
    conflict = "conflict"
    invalid = "invalid"


class BulkProblem(BaseModel):
    type: str = Field(description="The problem type (as the single-ticket request's).")
    title: str = Field(description="Its title.")
    status: int = Field(description="The HTTP status the single-ticket request would have had.")
    detail: str = Field(description="What was wrong with this ticket.")


class TicketBulkItem(BaseModel):
    ticket_id: uuid.UUID = Field(description="The ticket.")
    outcome: BulkOutcome = Field(
        description="`updated` (changed, new version), `unchanged` (already so), `not_found` "
        "(missing or not visible), `conflict` (closed), `invalid` (e.g. too many tags)."
    )
    ticket: TicketRead | None = Field(description="The ticket after the change, when it is seen.")
    problem: BulkProblem | None = Field(description="Why it was not changed, when it was not.")


class TicketBulkResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "updated": 1,
                    "failed": 1,
                    "results": [
                        {
                            "ticket_id": EXAMPLE_TICKET["id"],
                            "outcome": "updated",
                            "ticket": {**EXAMPLE_TICKET, "status": "pending", "version": 4},
                            "problem": None,
                        },
                        {
                            "ticket_id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b13",
                            "outcome": "conflict",
                            "ticket": None,
                            "problem": {
                                "type": "/problems/ticket-closed",
                                "title": "Ticket is closed",
                                "status": 409,
                                "detail": "Ticket is closed",
                            },
                        },
                    ],
                }
            ]
        }
    )

    updated: int = Field(description="How many tickets changed.")
    failed: int = Field(description="How many could not be changed (`not_found`, `conflict`, …).")
    results: list[TicketBulkItem] = Field(description="One entry per ticket id, in request order.")
