"""The tasks: one job each, idempotent, using the same services as the API.

Periodic tasks get procrastinate's scheduled `timestamp` and use it as "now", so a run is
reproducible and tests inject time by choosing the timestamp.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from datetime import UTC, datetime

import structlog
from procrastinate import App, Blueprint, RetryStrategy

from helpline.audit import integrity, rotation
from helpline.events import service as events_service
from helpline.idempotency import service as idempotency_service
from helpline.jobs.context import current
from helpline.mail import service as mail_service
from helpline.report import runner as report_runner
from helpline.sla import runner as sla_runner
from helpline.ticket import service as ticket_service

log = structlog.get_logger("helpline.jobs")
blueprint = Blueprint()
RETRY = RetryStrategy(max_attempts=5, exponential_wait=10)

# name -> cron (UTC). Kept in one table so docs and tests read the same schedule.
SCHEDULE = {
    "audit_rotate": "10 2 * * *",
    "audit_seal": "5 * * * *",
    "attachments_gc": "20 * * * *",
    "idempotency_purge": "*/15 * * * *",
    "events_purge": "30 3 * * *",
    "mail_raw_purge": "40 3 * * *",
    "backup": "0 1 * * *",
    "retry_stalled_jobs": "* * * * *",
    "sla_tick": "* * * * *",
    "reports_tick": "* * * * *",
    "reports_maintain": "50 * * * *",
}


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


@blueprint.task(name="deliver_webhooks", queue="webhooks", retry=RETRY)
async def deliver_webhooks(endpoint_id: str, ticket_id: str) -> int:
    """Send one ticket's pending deliveries to one endpoint, in order."""
    return await current().deliverer.run(uuid.UUID(endpoint_id), uuid.UUID(ticket_id))


@blueprint.task(name="process_inbound_email", queue="mail", retry=RETRY)
async def process_inbound_email(id: str) -> str:
    """Turn one stored inbound message into a ticket or message (idempotent)."""
    return await current().mail_processor.run(uuid.UUID(id))


@blueprint.task(name="send_email", queue="mail", retry=RETRY)
async def send_email(id: str) -> str:
    """Send one outbox row if it is due (retries reschedule themselves)."""
    return await current().mail_sender.run(uuid.UUID(id))


@blueprint.task(name="sla_recompute", queue="maintenance", retry=RETRY)
async def sla_recompute(id: str) -> int:
    """Recompute open tickets' SLA clocks after a policy or calendar change (batched)."""
    ctx = current()
    return await sla_runner.recompute(
        ctx.database,
        ctx.clock,
        uuid.UUID(id),
        invalidate=ticket_service.invalidate_sla_from_worker,
    )


@blueprint.periodic(cron=SCHEDULE["sla_tick"])
@blueprint.task(name="sla_tick", queue="maintenance", retry=RETRY)
async def sla_tick(timestamp: int) -> int:
    """The SLA loop's safety net where no worker runs it continuously: feed, then alarms."""
    ctx = current()
    invalidate = ticket_service.invalidate_sla_from_worker
    await sla_runner.follow_feed(ctx.database, ctx.clock, invalidate=invalidate)
    return len(await sla_runner.fire_alarms(ctx.database, ctx.clock, invalidate=invalidate))


@blueprint.periodic(cron=SCHEDULE["reports_tick"])
@blueprint.task(name="reports_tick", queue="maintenance", retry=RETRY)
async def reports_tick(timestamp: int) -> int:
    """The reports consumer's safety net where no worker runs it continuously."""
    return await report_runner.follow_feed(current().database)


@blueprint.periodic(cron=SCHEDULE["reports_maintain"])
@blueprint.task(name="reports_maintain", queue="maintenance", retry=RETRY)
async def reports_maintain(timestamp: int) -> int:
    """Purged tickets out of the report rollups; a new zone's rollups built (backfill)."""
    done = await report_runner.maintain(current().database)
    log.info("report rollups maintained", purged=done.purged, built=done.built)
    return done.purged


@blueprint.periodic(cron=SCHEDULE["events_purge"])
@blueprint.task(name="events_purge", queue="maintenance", retry=RETRY)
async def events_purge(timestamp: int) -> int:
    ctx = current()
    async with ctx.unit_of_work() as uow:
        purged = await events_service.purge_expired(
            uow.session, _at(timestamp), ctx.settings.events_retention_days
        )
    log.info("events purged", purged=purged)
    return purged


MAIL_PURGE_BATCH = 500
MAIL_PURGE_MAX_BATCHES = 2_000  # a bound, not a budget: 1 M messages a night


@blueprint.periodic(cron=SCHEDULE["mail_raw_purge"])
@blueprint.task(name="mail_raw_purge", queue="maintenance", retry=RETRY)
async def mail_raw_purge(timestamp: int) -> int:
    """Drop the raw bytes of decided inbound mail past the retention; one transaction per batch
    (each commits what it purged, so a retry starts where the last run stopped)."""
    ctx = current()
    total = 0
    for _ in range(MAIL_PURGE_MAX_BATCHES):
        async with ctx.unit_of_work() as uow:
            purged = await mail_service.purge_raw_mail(
                uow.session,
                now=_at(timestamp),
                retention_days=ctx.settings.mail_raw_retention_days,
                batch=MAIL_PURGE_BATCH,
            )
        total += purged
        if purged < MAIL_PURGE_BATCH:
            break
    log.info("raw mail purged", purged=total)
    return total


@blueprint.periodic(cron=SCHEDULE["idempotency_purge"])
@blueprint.task(name="idempotency_purge", queue="maintenance", retry=RETRY)
async def idempotency_purge(timestamp: int) -> int:
    ctx = current()
    return await idempotency_service.purge_expired(
        ctx.database, ctx.settings.idempotency_ttl_hours * 3600
    )


@blueprint.periodic(cron=SCHEDULE["audit_rotate"])
@blueprint.task(name="audit_rotate", queue="maintenance", retry=RETRY)
async def audit_rotate(timestamp: int) -> list[str]:
    ctx = current()
    async with ctx.unit_of_work(owner=True) as uow:
        report = await rotation.rotate(
            uow.session,
            now=_at(timestamp),
            retention_months=ctx.settings.audit_retention_months,
            archive_dir=ctx.settings.var_dir / "audit-archive",
            dry_run=False,
        )
    return report.lines()


@blueprint.periodic(cron=SCHEDULE["audit_seal"])
@blueprint.task(name="audit_seal", queue="maintenance", retry=RETRY)
async def audit_seal(timestamp: int) -> bool:
    ctx = current()
    async with ctx.unit_of_work(owner=True) as uow:
        report = await integrity.verify(uow.session)
        if report.ok:
            await integrity.seal(
                uow.session,
                now=_at(timestamp),
                settle_minutes=ctx.settings.audit_seal_settle_minutes,
            )
        else:
            log.error("audit verification failed", problems=report.problems[:20])
    return report.ok


@blueprint.periodic(cron=SCHEDULE["attachments_gc"])
@blueprint.task(name="attachments_gc", queue="maintenance", retry=RETRY)
async def attachments_gc(timestamp: int) -> int:
    from helpline.attachment.gc import collect_garbage
    from helpline.attachment.storage import make_storage

    ctx = current()
    report = await collect_garbage(ctx.database, make_storage(ctx.settings), _at(timestamp))
    return report.uploads_deleted + report.blobs_deleted


@blueprint.periodic(cron=SCHEDULE["backup"])
@blueprint.task(name="backup", queue="maintenance", retry=RETRY)
async def backup(timestamp: int) -> bool:
    """Nightly `helpline backup create` + `prune`, only where HELPLINE_WORKER_BACKUPS is on."""
    if not current().settings.worker_backups:
        return False
    cli = shutil.which("helpline") or "helpline"
    for step in ("create", "prune"):
        process = await asyncio.create_subprocess_exec(cli, "backup", step)
        if await process.wait() != 0:
            raise RuntimeError(f"helpline backup {step} failed")
    return True


@blueprint.periodic(cron=SCHEDULE["retry_stalled_jobs"])
@blueprint.task(name="retry_stalled_jobs", queue="maintenance", pass_context=True)
async def retry_stalled_jobs(context: object, timestamp: int) -> int:
    """Jobs of a worker that died (no heartbeat) go back to the queue: nothing is lost."""
    return await requeue_stalled(context.app)  # type: ignore[attr-defined]


async def requeue_stalled(app: App) -> int:
    """Put the jobs of workers without a recent heartbeat back in the queue."""
    stalled = list(await app.job_manager.get_stalled_jobs())
    for job in stalled:
        await app.job_manager.retry_job(job)
    if stalled:
        log.warning("requeued stalled jobs", jobs=[job.id for job in stalled])
    return len(stalled)
