"""SQL of webhook endpoints and deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.rows import AnyRow
from helpline.models import Event, WebhookDelivery, WebhookEndpoint

DELIVER_TASK = "helpline:deliver_webhooks"  # procrastinate task name (jobs.tasks)
JOB_SQL = text(
    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW('webhooks', CAST(:task_name AS text), 0,"
    " 'webhook:' || CAST(:endpoint_id AS text) || ':' || CAST(:ticket_id AS text), NULL,"
    " jsonb_build_object('endpoint_id', CAST(:endpoint_id AS text),"
    " 'ticket_id', CAST(:ticket_id AS text)),"
    " CAST(:scheduled_at AS timestamptz))::procrastinate_job_to_defer_v1])"
)


async def insert_endpoint(session: AsyncSession, values: dict[str, Any]) -> WebhookEndpoint:
    await session.execute(insert(WebhookEndpoint).values(**values))
    row = await get_endpoint(session, values["id"])
    if row is None:  # pragma: no cover - the row was inserted just above
        raise LookupError("webhook endpoint vanished after insert")
    return row


async def get_endpoint(
    session: AsyncSession, endpoint_id: uuid.UUID, *, lock: bool = False
) -> WebhookEndpoint | None:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
    if lock:
        stmt = stmt.with_for_update()
    return (
        await session.execute(stmt.execution_options(populate_existing=True))
    ).scalar_one_or_none()


async def list_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    stmt = select(WebhookEndpoint).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    return list((await session.execute(stmt)).scalars())


async def update_endpoint(
    session: AsyncSession, endpoint_id: uuid.UUID, values: dict[str, Any]
) -> None:
    await session.execute(
        update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).values(**values)
    )


async def delete_endpoint(session: AsyncSession, endpoint_id: uuid.UUID) -> bool:
    result = await session.execute(
        text("DELETE FROM webhook_endpoints WHERE id = :id"), {"id": endpoint_id}
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def list_deliveries(
    session: AsyncSession, endpoint_id: uuid.UUID, before_id: int | None, limit: int
) -> list[AnyRow]:
    stmt = (
        select(WebhookDelivery, Event.type)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        stmt = stmt.where(WebhookDelivery.id < before_id)
    return list((await session.execute(stmt)).all())


async def get_delivery(
    session: AsyncSession, endpoint_id: uuid.UUID, delivery_id: int
) -> WebhookDelivery | None:
    stmt = select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id
    )
    return (
        await session.execute(stmt.execution_options(populate_existing=True))
    ).scalar_one_or_none()


async def update_delivery(session: AsyncSession, delivery_id: int, values: dict[str, Any]) -> None:
    await session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values)
    )


async def reset_failures(session: AsyncSession, endpoint_id: uuid.UUID) -> None:
    """Clear the failure streak after a success (no write, no row lock, when there is none)."""
    await session.execute(
        text(
            "UPDATE webhook_endpoints SET consecutive_failures = 0, failing_since = NULL"
            " WHERE id = :id AND (consecutive_failures <> 0 OR failing_since IS NOT NULL)"
        ),
        {"id": endpoint_id},
    )


async def pending(
    session: AsyncSession, endpoint_id: uuid.UUID, ticket_id: uuid.UUID, limit: int
) -> list[AnyRow]:
    """The oldest pending deliveries of one ticket to one endpoint, with their events and
    whether each is settled — no transaction of this database before it can still add an event
    (the feed's horizon, ADR 0012): only then is it safe to send in order."""
    return list(
        await session.execute(
            text(
                "SELECT d.id, d.attempts, d.next_attempt_at, d.created_at, e.id AS event_id,"
                " e.type, e.occurred_at, e.ticket_id, e.data,"
                " d.event_xid < (SELECT helpline_feed_horizon(pg_current_snapshot())) AS settled"
                " FROM webhook_deliveries d JOIN events e ON e.id = d.event_id"
                " WHERE d.endpoint_id = :endpoint_id AND d.ticket_id = :ticket_id"
                " AND d.status = 'pending'"
                " ORDER BY d.event_xid, d.event_id LIMIT :limit"
            ),
            {"endpoint_id": endpoint_id, "ticket_id": ticket_id, "limit": limit},
        )
    )


async def defer_delivery_job(
    session: AsyncSession,
    endpoint_id: uuid.UUID,
    ticket_id: uuid.UUID,
    scheduled_at: datetime | None,
) -> None:
    """Enqueue a delivery run in the caller's transaction (dropped if it rolls back)."""
    await session.execute(
        JOB_SQL,
        {
            "endpoint_id": str(endpoint_id),
            "ticket_id": str(ticket_id),
            "scheduled_at": scheduled_at,
            "task_name": DELIVER_TASK,
        },
    )


async def insert_delivery_of_event(
    session: AsyncSession, endpoint_id: uuid.UUID, event_id: int
) -> uuid.UUID | None:
    """A pending delivery of one event to one endpoint; the event's ticket."""
    result = await session.execute(
        text(
            "INSERT INTO webhook_deliveries (endpoint_id, event_id, event_xid, ticket_id)"
            " SELECT :endpoint_id, id, xid, ticket_id FROM events WHERE id = :event_id"
            " RETURNING ticket_id"
        ),
        {"endpoint_id": endpoint_id, "event_id": event_id},
    )
    return result.scalar()
