"""Webhook endpoints and their delivery logs in GraphQL: thin resolvers over the webhook service."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from helpline.errors import ValidationFailed
from helpline.events.schemas import EventRead
from helpline.graphql.context import parse_id
from helpline.graphql.ticket import build
from helpline.graphql.types import Info, check_page_size
from helpline.models.event import EventType
from helpline.webhook import service as webhook_service
from helpline.webhook.schemas import DeliveryRead, WebhookCreate, WebhookUpdate


@strawberry.type(description="One committed change of a ticket (as `GET /api/v1/events`).")
class Event:
    id: strawberry.ID
    type: EventType
    occurred_at: datetime
    ticket_id: strawberry.ID
    actor_id: strawberry.ID | None
    data: JSON = strawberry.field(description="What changed; shape per type (see the REST docs).")

    @classmethod
    def from_read(cls, e: EventRead) -> Event:
        return cls(
            id=strawberry.ID(str(e.id)),
            type=e.type,
            occurred_at=e.occurred_at,
            ticket_id=strawberry.ID(str(e.ticket_id)),
            actor_id=None if e.actor_id is None else strawberry.ID(str(e.actor_id)),
            data=cast(JSON, e.data),
        )


@strawberry.type(description="A webhook endpoint (admins); its secret is never readable.")
class Webhook:
    id: strawberry.ID
    url: str
    description: str
    event_types: list[str] = strawberry.field(description="Delivered types; empty = all.")
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> Webhook:
        return cls(
            id=strawberry.ID(str(row.id)),
            url=row.url,
            description=row.description,
            event_types=list(row.event_types),
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            consecutive_failures=row.consecutive_failures,
            failing_since=row.failing_since,
            previous_secret_expires_at=row.previous_secret_expires_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="One delivery of an event to an endpoint (the delivery log).")
class WebhookDelivery:
    id: strawberry.ID
    event_id: strawberry.ID
    event_type: str
    ticket_id: strawberry.ID
    status: str = strawberry.field(description="pending | succeeded | failed (gave up).")
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_latency_ms: int | None
    last_response_excerpt: str | None
    last_error: str | None
    delivered_at: datetime | None

    @classmethod
    def from_read(cls, d: DeliveryRead) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(str(d.id)),
            event_id=strawberry.ID(str(d.event_id)),
            event_type=d.event_type,
            ticket_id=strawberry.ID(str(d.ticket_id)),
            status=d.status,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            last_attempt_at=d.last_attempt_at,
            last_status_code=d.last_status_code,
            last_latency_ms=d.last_latency_ms,
            last_response_excerpt=d.last_response_excerpt,
            last_error=d.last_error,
            delivered_at=d.delivered_at,
        )


@strawberry.type(description="A new webhook endpoint and its signing secret (shown once).")
class CreatedWebhook:
    webhook: Webhook
    secret: str = strawberry.field(description="`whsec_…`; shown only this once.")


@strawberry.input(description="A new webhook endpoint (admins).")
class CreateWebhookInput:
    url: str
    event_types: list[EventType] | None = None
    description: str = ""


@strawberry.input(description="Change, disable or re-enable an endpoint; only given fields change.")
class UpdateWebhookInput:
    id: strawberry.ID
    url: str | None = None
    event_types: list[EventType] | None = None
    description: str | None = None
    enabled: bool | None = None


@strawberry.input(description="Rotate an endpoint's secret; the old one signs during the overlap.")
class RotateWebhookSecretInput:
    id: strawberry.ID
    overlap_seconds: int | None = None


@strawberry.input(description="Delete an endpoint, or redeliver one of its deliveries.")
class WebhookRefInput:
    id: strawberry.ID
    delivery_id: strawberry.ID | None = None


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="Webhook endpoints (admins).")
    async def webhooks(self, info: Info) -> list[Webhook]:
        ctx = info.context
        async with ctx.db() as session:
            rows = await webhook_service.list_endpoints(session, ctx.principal)
        return [Webhook.from_row(r) for r in rows]

    @strawberry.field(description="An endpoint's delivery log, newest first (admins).")
    async def webhook_deliveries(
        self, info: Info, webhook_id: strawberry.ID, first: int = 25
    ) -> list[WebhookDelivery]:
        ctx = info.context
        check_page_size(first, "first")
        async with ctx.db() as session:
            rows = await webhook_service.list_deliveries(
                session,
                ctx.principal,
                parse_id(webhook_id, "webhookId"),
                before_id=None,
                limit=first,
            )
        return [WebhookDelivery.from_read(d) for d in rows]


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(description="Create a webhook endpoint (as `POST /api/v1/webhooks`).")
    async def create_webhook(self, info: Info, input: CreateWebhookInput) -> CreatedWebhook:
        ctx = info.context
        data = build(
            WebhookCreate,
            {
                "url": input.url,
                "event_types": [t.value for t in input.event_types or ()],
                "description": input.description,
            },
        )
        async with ctx.db() as session:
            row, secret = await webhook_service.create_endpoint(
                session, ctx.principal, data, allowed_hosts=ctx.settings.webhook_allowed_hosts
            )
        return CreatedWebhook(webhook=Webhook.from_row(row), secret=secret)

    @strawberry.mutation(description="Update, disable or re-enable an endpoint (as `PATCH`).")
    async def update_webhook(self, info: Info, input: UpdateWebhookInput) -> Webhook:
        ctx = info.context
        values: dict[str, Any] = {
            k: v
            for k, v in {
                "url": input.url,
                "event_types": None
                if input.event_types is None
                else [t.value for t in input.event_types],
                "description": input.description,
                "enabled": input.enabled,
            }.items()
            if v is not None
        }
        async with ctx.db() as session:
            row = await webhook_service.update_endpoint(
                session,
                ctx.principal,
                parse_id(input.id, "id"),
                build(WebhookUpdate, values),
                now=ctx.clock(),
                allowed_hosts=ctx.settings.webhook_allowed_hosts,
            )
        return Webhook.from_row(row)

    @strawberry.mutation(description="Rotate an endpoint's signing secret (as `POST …/rotate`).")
    async def rotate_webhook_secret(
        self, info: Info, input: RotateWebhookSecretInput
    ) -> CreatedWebhook:
        ctx = info.context
        seconds = (
            ctx.settings.webhook_secret_overlap_hours * 3600
            if input.overlap_seconds is None
            else input.overlap_seconds
        )
        if not 0 <= seconds <= 7 * 86400:
            raise ValidationFailed(
                "overlapSeconds must be between 0 and 604800.",
                errors=[{"loc": ["input", "overlapSeconds"], "msg": "0-604800", "type": "range"}],
            )
        async with ctx.db() as session:
            row, secret = await webhook_service.rotate_secret(
                session,
                ctx.principal,
                parse_id(input.id, "id"),
                now=ctx.clock(),
                overlap=timedelta(seconds=seconds),
            )
        return CreatedWebhook(webhook=Webhook.from_row(row), secret=secret)

    @strawberry.mutation(description="Delete an endpoint and its delivery log.")
    async def delete_webhook(self, info: Info, input: WebhookRefInput) -> strawberry.ID:
        ctx = info.context
        async with ctx.db() as session:
            await webhook_service.delete_endpoint(session, ctx.principal, parse_id(input.id, "id"))
        return input.id

    @strawberry.mutation(description="Queue a delivery again (needs `deliveryId`).")
    async def redeliver_webhook(self, info: Info, input: WebhookRefInput) -> strawberry.ID:
        ctx = info.context
        try:
            delivery_id = int(str(input.delivery_id))
        except ValueError:
            delivery_id = 0
        async with ctx.db() as session:
            await webhook_service.redeliver(
                session, ctx.principal, parse_id(input.id, "id"), delivery_id, now=ctx.clock()
            )
        return strawberry.ID(str(delivery_id))
