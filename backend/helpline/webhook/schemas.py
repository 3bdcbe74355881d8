"""Representations of webhook endpoints and deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from helpline.models.event import EventType


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl = Field(description="Target URL; must resolve to a public address.")
    event_types: list[EventType] = Field(
        default_factory=list, description="Event types to deliver; empty = all."
    )
    description: str = Field("", max_length=500, description="Free text for admins.")


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl | None = Field(None, description="New target URL.")
    event_types: list[EventType] | None = Field(None, description="New event types.")
    description: str | None = Field(None, max_length=500, description="New free text.")
    enabled: bool | None = Field(
        None, description="Disable, or re-enable (clears the failure streak and reason)."
    )


class WebhookRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_seconds: int | None = Field(
        None,
        ge=0,
        le=7 * 86400,
        description="How long the old secret keeps signing too (default: the setting).",
    )


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Endpoint id.")
    url: str = Field(description="Target URL.")
    description: str = Field(description="Free text for admins.")
    event_types: list[str] = Field(description="Delivered types; empty = all.")
    enabled: bool = Field(description="Whether deliveries are sent.")
    disabled_reason: str | None = Field(description="Why it was disabled (null when enabled).")
    consecutive_failures: int = Field(description="Failed attempts since the last success.")
    failing_since: datetime | None = Field(
        description="First failure of the current failure streak (null when healthy)."
    )
    previous_secret_expires_at: datetime | None = Field(
        description="Until when the secret before the last rotation also signs."
    )
    created_at: datetime = Field(description="When it was created (UTC).")
    updated_at: datetime = Field(description="Last change by an admin (UTC).")


class WebhookWithSecret(WebhookRead):
    secret: str = Field(description="The signing secret (`whsec_…`); shown only this once.")


class DeliveryRead(BaseModel):
    id: int = Field(description="Delivery id.")
    event_id: int = Field(description="The event delivered (`webhook-id` is `evt_<event_id>`).")
    event_type: str = Field(description="Its type.")
    ticket_id: uuid.UUID = Field(description="The ticket it concerns.")
    status: str = Field(description="pending | succeeded | failed (gave up).")
    attempts: int = Field(description="Attempts so far.")
    next_attempt_at: datetime = Field(description="When a pending delivery is tried next.")
    created_at: datetime = Field(description="When it was queued (with the change).")
    last_attempt_at: datetime | None = Field(description="Last attempt (UTC).")
    last_status_code: int | None = Field(description="HTTP status of the last answer.")
    last_latency_ms: int | None = Field(description="Duration of the last attempt (ms).")
    last_response_excerpt: str | None = Field(description="First 500 characters of the answer.")
    last_error: str | None = Field(description="Why the last attempt failed.")
    delivered_at: datetime | None = Field(description="When the receiver accepted it.")
