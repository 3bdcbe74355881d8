"""Queue and delivery state as Prometheus gauges (read from PostgreSQL at scrape time, so every
API process reports the same numbers whichever worker did the work)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.jobs import repository
from helpline.kit.metrics import REGISTRY

JOBS = REGISTRY.gauge("helpline_jobs", "Background jobs by queue and status (failed = gave up).")
DELIVERIES = REGISTRY.gauge(
    "helpline_webhook_deliveries", "Webhook deliveries by status (pending, succeeded, failed)."
)
DISABLED = REGISTRY.gauge(
    "helpline_webhook_endpoints_disabled", "Webhook endpoints disabled (by an admin or failures)."
)


async def refresh_metrics(session: AsyncSession) -> None:
    """Update the queue and delivery gauges from the database."""
    jobs = await repository.job_counts(session)
    for labels in list(JOBS.values):  # a status no job has any more reads 0, not its last value
        JOBS.set(0, **dict(labels))
    for (queue, status), count in jobs.items():
        JOBS.set(count, queue=queue, status=status)
    counts = await repository.delivery_counts(session)
    DISABLED.set(counts.pop("endpoints_disabled", 0))
    for status in ("pending", "succeeded", "failed"):
        DELIVERIES.set(counts.get(status, 0), status=status)
