"""Representations of saved views. A view's ``query`` holds the ticket list's own query
parameters (``GET /api/v1/tickets``), typed and bounded as the list takes them, so a view can
only hold what the list accepts."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from helpline.models.enums import TicketPriority, TicketStatus
from helpline.models.saved_view import VIEW_NAME_MAX_CHARS, VIEW_QUERY_MAX_BYTES
from helpline.ticket.schemas import (
    MAX_METADATA_FILTERS,
    MetadataFilterKey,
    MetadataFilterValue,
    Rfc3339,
    SearchScope,
    Tag,
    TicketFilters,
    TicketSort,
)

MAX_VIEWS_PER_USER = 50
MAX_POSITION = 1_000_000


def _name(value: str) -> str:
    # Stripped after the length check (the schema's bounds hold for what is sent).
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


ViewName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=VIEW_NAME_MAX_CHARS),
    AfterValidator(_name),
]

EXAMPLE_QUERY: dict[str, Any] = {
    "status": ["new", "open"],
    "priority": "urgent",
    "assigned_to": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b11",
    "tag": ["vip"],
    "q": "refund",
    "q_scope": "all",
    "sort": "sla_due",
}
EXAMPLE_VIEW: dict[str, Any] = {
    "id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b30",
    "name": "My urgent VIPs",
    "query": EXAMPLE_QUERY,
    "position": 0,
    "is_default": True,
    "created_at": "2026-12-07T16:05:00Z",
    "updated_at": "2026-12-07T16:05:00Z",
}


def query_size(query: dict[str, Any]) -> int:
    """Bytes of the query as PostgreSQL prints a jsonb (what the table's CHECK bounds)."""
    return len(json.dumps(query, ensure_ascii=False, separators=(", ", ": ")).encode())


class ViewQuery(BaseModel):
    """The ticket list's filters and sort, by their query parameter names (`limit` and `cursor`
    are not part of a view). Lists are JSON arrays here (`status` is a comma list in the URL, a
    repeated `tag` parameter is an array); `metadata` is an object for the list's
    `metadata.<key>=<value>` parameters. Absent keys do not filter."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra={"examples": [EXAMPLE_QUERY]}
    )

    status: list[TicketStatus] | None = Field(
        None, max_length=len(TicketStatus), description="Any of these statuses."
    )
    priority: TicketPriority | None = Field(None, description="Priority.")
    assigned_to: uuid.UUID | None = Field(None, description="Assignee id.")
    customer_id: uuid.UUID | None = Field(None, description="Customer id.")
    team_id: uuid.UUID | None = Field(None, description="Team id.")
    tag: list[Tag] | None = Field(None, max_length=10, description="Carrying every one of these.")
    q: str | None = Field(None, min_length=1, max_length=200, description="Full-text search.")
    q_scope: SearchScope | None = Field(None, description="Where `q` looks.")
    number: int | None = Field(None, ge=1, le=2**63 - 1, description="The ticket number.")
    created_after: Rfc3339 | None = Field(None, description="Created at or after (RFC 3339).")
    created_before: Rfc3339 | None = Field(None, description="Created before (RFC 3339).")
    updated_since: Rfc3339 | None = Field(None, description="Updated at or after (RFC 3339).")
    sla_breached: bool | None = Field(None, description="An SLA target was missed (or not).")
    sla_due_before: Rfc3339 | None = Field(
        None, description="A running SLA deadline before this instant (RFC 3339)."
    )
    metadata: dict[MetadataFilterKey, MetadataFilterValue] | None = Field(
        None, max_length=MAX_METADATA_FILTERS, description="`metadata.<key>=<value>` matches."
    )
    sort: TicketSort | None = Field(None, description="The list's order (default `-updated_at`).")

    @field_validator("status")
    @classmethod
    def _statuses_in_lifecycle_order(cls, value: list[TicketStatus] | None) -> Any:
        return None if value is None else [s for s in TicketStatus if s in value]

    @field_validator("tag")
    @classmethod
    def _tags_sorted(cls, value: list[str] | None) -> Any:
        return None if value is None else sorted(set(value))

    @field_validator("q")
    @classmethod
    def _q_stripped(cls, value: str | None) -> Any:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return None if value is None else value.strip()

    @model_validator(mode="after")
    def _bounded(self) -> ViewQuery:
        if query_size(self.stored()) > VIEW_QUERY_MAX_BYTES:
            raise ValueError(f"the query must serialize to at most {VIEW_QUERY_MAX_BYTES} bytes")
        return self

    def stored(self) -> dict[str, Any]:
        """The JSON object kept in the database: only the parameters given."""
        return self.model_dump(mode="json", exclude_none=True)

    def to_filters(self) -> TicketFilters:
        """The list filters this view applies (as `GET /api/v1/tickets` would parse them)."""
        return TicketFilters(
            status=tuple(self.status or ()),
            priority=self.priority,
            assigned_to=self.assigned_to,
            customer_id=self.customer_id,
            created_after=self.created_after,
            created_before=self.created_before,
            updated_since=self.updated_since,
            number=self.number,
            team_id=self.team_id,
            tags=tuple(self.tag or ()),
            q=self.q,
            q_scope=self.q_scope or SearchScope.tickets,
            sla_breached=self.sla_breached,
            sla_due_before=self.sla_due_before,
            metadata=tuple(sorted((self.metadata or {}).items())),
        )


class ViewCreate(BaseModel):
    """A new saved view of the caller's."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "My urgent VIPs", "query": EXAMPLE_QUERY, "is_default": True}]
        },
    )

    name: ViewName = Field(description="Unique among your views (case-insensitively), 1-100.")
    query: ViewQuery = Field(
        default_factory=ViewQuery, description="The ticket list's filters and sort."
    )
    position: int | None = Field(
        None, ge=0, le=MAX_POSITION, description="Order in your list (default: after the last)."
    )
    is_default: bool = Field(
        False, description="Open the inbox with this view (unsets your previous default)."
    )


class ViewUpdate(BaseModel):
    """Change a saved view: only the fields given change."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Urgent VIPs", "query": {"priority": "urgent"}}]},
    )

    name: ViewName | None = Field(None, description="New name.")
    query: ViewQuery | None = Field(None, description="The whole query (replaces it).")
    position: int | None = Field(None, ge=0, le=MAX_POSITION, description="New position.")
    is_default: bool | None = Field(
        None, description="true: make it your default view (unsets the previous one)."
    )


class ViewRead(BaseModel):
    """One of the caller's saved views."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [EXAMPLE_VIEW]})

    id: uuid.UUID = Field(description="View id.")
    name: str = Field(description="Name.")
    query: ViewQuery = Field(description="The ticket list's filters and sort (only those set).")
    position: int = Field(description="Order in the list (ascending; ties by name).")
    is_default: bool = Field(description="The inbox opens with it (at most one per user).")
    created_at: datetime = Field(description="Creation time.")
    updated_at: datetime = Field(description="Last change.")
