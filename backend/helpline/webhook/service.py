"""Webhook endpoints: admin CRUD, secret rotation with overlap, delivery log, redelivery."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.permissions import Scope
from helpline.auth.principal import Principal
from helpline.errors import PermissionDenied
from helpline.kit.ids import new_id
from helpline.models import WebhookEndpoint
from helpline.webhook import repository
from helpline.webhook.errors import WebhookNotFound
from helpline.webhook.schemas import DeliveryRead, WebhookCreate, WebhookUpdate
from helpline.webhook.signing import new_secret
from helpline.webhook.targets import check_target


def require_admin(principal: Principal) -> None:
    """Admins whose credentials carry `webhooks:write` (a narrower admin key cannot)."""
    if not principal.is_admin or not principal.has(Scope.webhooks_write):
        raise PermissionDenied("This action needs the 'webhooks:write' permission (admins).")


async def create_endpoint(
    session: AsyncSession,
    principal: Principal,
    data: WebhookCreate,
    *,
    allowed_hosts: list[str],
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (the only time the secret is returned)."""
    require_admin(principal)
    url = str(data.url)
    await check_target(url, allowed_hosts)
    secret = new_secret()
    row = await repository.insert_endpoint(
        session,
        {
            "id": new_id(),
            "url": url,
            "description": data.description,
            "event_types": sorted({t.value for t in data.event_types}),
            "secret": secret,
            "created_by": principal.user_id if principal.user_id.int else None,
        },
    )
    return row, secret


async def get_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, *, lock: bool = False
) -> WebhookEndpoint:
    require_admin(principal)
    row = await repository.get_endpoint(session, endpoint_id, lock=lock)
    if row is None:
        raise WebhookNotFound()
    return row


async def list_endpoints(session: AsyncSession, principal: Principal) -> list[WebhookEndpoint]:
    require_admin(principal)
    return await repository.list_endpoints(session)


async def update_endpoint(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: uuid.UUID,
    data: WebhookUpdate,
    *,
    now: datetime,
    allowed_hosts: list[str],
) -> WebhookEndpoint:
    """Change URL, types or description; disable, or re-enable with a clean slate."""
    await get_endpoint(session, principal, endpoint_id, lock=True)
    values: dict[str, Any] = {"updated_at": now}
    if data.url is not None:
        await check_target(str(data.url), allowed_hosts)
        values["url"] = str(data.url)
    if data.event_types is not None:
        values["event_types"] = sorted({t.value for t in data.event_types})
    if data.description is not None:
        values["description"] = data.description
    if data.enabled is True:
        values.update(
            enabled=True, disabled_reason=None, consecutive_failures=0, failing_since=None
        )
    elif data.enabled is False:
        values.update(enabled=False, disabled_reason="disabled by an admin")
    await repository.update_endpoint(session, endpoint_id, values)
    return await get_endpoint(session, principal, endpoint_id)


async def rotate_secret(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: uuid.UUID,
    *,
    now: datetime,
    overlap: timedelta,
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the old one keeps signing (second signature) until the overlap ends."""
    row = await get_endpoint(session, principal, endpoint_id, lock=True)
    secret = new_secret()
    await repository.update_endpoint(
        session,
        endpoint_id,
        {
            "secret": secret,
            "previous_secret": row.secret if overlap.total_seconds() > 0 else None,
            "previous_secret_expires_at": now + overlap if overlap.total_seconds() > 0 else None,
            "updated_at": now,
        },
    )
    return await get_endpoint(session, principal, endpoint_id), secret


async def delete_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID
) -> None:
    require_admin(principal)
    if not await repository.delete_endpoint(session, endpoint_id):
        raise WebhookNotFound()


async def list_deliveries(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: uuid.UUID,
    *,
    before_id: int | None,
    limit: int,
) -> list[DeliveryRead]:
    """The endpoint's delivery log, newest first."""
    await get_endpoint(session, principal, endpoint_id)
    rows = await repository.list_deliveries(session, endpoint_id, before_id, limit)
    return [
        DeliveryRead(
            id=d.id,
            event_id=d.event_id,
            event_type=event_type,
            ticket_id=d.ticket_id,
            status=d.status,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            created_at=d.created_at,
            last_attempt_at=d.last_attempt_at,
            last_status_code=d.last_status_code,
            last_latency_ms=d.last_latency_ms,
            last_response_excerpt=d.last_response_excerpt,
            last_error=d.last_error,
            delivered_at=d.delivered_at,
        )
        for d, event_type in rows
    ]


async def redeliver(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: uuid.UUID,
    delivery_id: int,
    *,
    now: datetime,
) -> None:
    """Send a delivery again (same webhook-id), in its ticket's order, from a fresh start."""
    await get_endpoint(session, principal, endpoint_id)
    delivery = await repository.get_delivery(session, endpoint_id, delivery_id)
    if delivery is None:
        raise WebhookNotFound("No such delivery for this endpoint.")
    await repository.update_delivery(
        session,
        delivery_id,
        {"status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now},
    )
    await repository.defer_delivery_job(session, endpoint_id, delivery.ticket_id, None)


async def enqueue_event(session: AsyncSession, endpoint_id: uuid.UUID, event_id: int) -> None:
    """Deliver one feed event to an enabled endpoint (a rule's webhook action), in the caller's
    transaction, through the ordinary delivery queue (signed, retried, in order per ticket)."""
    endpoint = await repository.get_endpoint(session, endpoint_id)
    if endpoint is None or not endpoint.enabled:
        raise WebhookNotFound("No enabled webhook endpoint with this id.")
    ticket_id = await repository.insert_delivery_of_event(session, endpoint_id, event_id)
    if ticket_id is not None:
        await repository.defer_delivery_job(session, endpoint_id, ticket_id, None)
