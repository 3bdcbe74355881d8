"""Conversation message representations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from helpline.models.enums import DeliveryStatus, MessageChannel, SenderType


class MessageCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"message": "Thanks, I have sent you a new link.", "is_internal": False}]
        },
    )

    message: str = Field(min_length=1, max_length=100_000, description="Message text.")
    is_internal: bool = Field(
        False, description="Internal note, hidden from customers (staff only)."
    )
    attachment_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=10,
        description="Up to 10 of the caller's own unbound uploads (`POST /attachments`) to "
        "attach; they take the message's visibility.",
    )


class Delivery(BaseModel):
    status: DeliveryStatus = Field(description="queued | sent | failed | bounced.")
    message_id: str = Field(description="The mail's Message-ID (without <>).")
    error: str | None = Field(None, description="Why it failed or bounced.")


class MessageRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b20",
                    "ticket_id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b10",
                    "message": "Thanks, I have sent you a new link.",
                    "sender_id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b11",
                    "sender_type": "agent",
                    "is_internal": False,
                    "timestamp": "2026-11-20T10:02:44Z",
                    "attachments": [],
                    "channel": "web",
                    "delivery": {
                        "status": "sent",
                        "message_id": "helpline.k5qq2mfd@example.com",
                        "error": None,
                    },
                }
            ]
        },
    )

    id: uuid.UUID = Field(description="Message id (UUIDv7).")
    ticket_id: uuid.UUID = Field(description="Ticket the message belongs to.")
    message: str = Field(description="Message text.")
    sender_id: uuid.UUID | None = Field(description="Author; null for system messages.")
    sender_type: SenderType = Field(description="customer | agent | system.")
    is_internal: bool = Field(description="Internal note (never shown to customers).")
    timestamp: datetime = Field(description="When the message was added (UTC).")
    attachments: list[dict[str, Any]] = Field(
        description="Attachment descriptors: id, filename, content_type, size, sha256."
    )
    channel: MessageChannel = Field(description="How it arrived: web | api | email.")
    delivery: Delivery | None = Field(
        description="For a message mailed to the customer: its delivery state; else null."
    )
