"""SQL about the job queue and deliveries, for metrics."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def job_counts(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Jobs per (queue, status)."""
    rows = await session.execute(
        text(
            "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs"
            " GROUP BY queue_name, status"
        )
    )
    return {(queue, status): n for queue, status, n in rows.all()}


async def delivery_counts(session: AsyncSession) -> dict[str, int]:
    """Webhook deliveries per status, and disabled endpoints."""
    rows = await session.execute(
        text(
            "SELECT status, count(*) FROM webhook_deliveries GROUP BY status"
            " UNION ALL SELECT 'endpoints_disabled', count(*) FROM webhook_endpoints"
            " WHERE NOT enabled"
        )
    )
    return {status: n for status, n in rows.all()}
