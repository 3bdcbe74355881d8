"""Representations of change-feed events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from helpline.models.event import EventType


class EventRead(BaseModel):
    """One committed change of a ticket."""

    id: int = Field(description="Event id (unique; not by itself the feed order).")
    type: EventType = Field(description="What happened.")
    occurred_at: datetime = Field(description="When the writing transaction started (UTC).")
    ticket_id: uuid.UUID = Field(description="The ticket it concerns.")
    actor_id: uuid.UUID | None = Field(description="Acting user; null for system changes.")
    data: dict[str, Any] = Field(
        description="Shape per type: `ticket.created` the ticket's fields; `ticket.updated` "
        "`changes` ({field: [old, new]}) and `version`; `ticket.deleted` `version` and "
        "`deleted_at`; `message.created` `message_id`, `sender_id`, `sender_type`, "
        "`is_internal`, `excerpt` (first 1,000 characters) and `length`; `metadata.changed` "
        "`key`, `value`, `old_value`, `removed`; `attachment.added` `attachment_id`, "
        "`message_id`, `filename`, `content_type`, `size`, `sha256`."
    )
    cursor: str = Field(description="Resume position: pass as `after` to read what follows.")


class EventPage(BaseModel):
    """A page of the feed; `next_cursor` is where to resume (also when the page is empty)."""

    data: list[EventRead] = Field(description="Events in feed order.")
    meta: EventPageMeta = Field(description="Resume state.")


class EventPageMeta(BaseModel):
    """Resume state of a feed page."""

    next_cursor: str | None = Field(
        description="Cursor after the last event of this page (`after`); the given `after` "
        "again when the page is empty, null only when there were no events at all."
    )
    has_more: bool = Field(description="Whether more events are visible right now.")


EventPage.model_rebuild()
