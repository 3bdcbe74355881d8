"""Building the procrastinate app and running a worker with Helpline's context."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import httpx
from procrastinate import App, PsycopgConnector

from helpline.attachment.storage import make_storage
from helpline.config import Settings
from helpline.db import Database, make_engine
from helpline.jobs import context
from helpline.jobs.tasks import blueprint
from helpline.kit.clock import Clock, utcnow
from helpline.kit.periodic import Periodic
from helpline.mail import outbox as mail_outbox
from helpline.mail.imap_loop import ImapSupervisor
from helpline.mail.processing import Processor
from helpline.mail.sending import Sender
from helpline.report import runner as report_runner
from helpline.rule.runner import RulesRunner
from helpline.runtime import resolve_database_url
from helpline.sla import runner as sla_runner
from helpline.ticket import service as ticket_service
from helpline.webhook.delivery import Deliverer
from helpline.webhook.pinning import pinned_client

QUEUES = ("webhooks", "mail", "maintenance")


def conninfo(url: str) -> str:
    """libpq takes the ordinary postgresql:// URL (also the ?host= socket form) as it is."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


# One procrastinate app per process: tasks link back to the app that registered them, so the
# blueprint is registered once and each make_app() points that app at the wanted database.
_APP: list[App] = []


def make_app(settings: Settings, database_url: str | None = None) -> App:
    url = database_url or resolve_database_url(settings)
    connector = PsycopgConnector(
        conninfo=conninfo(url), min_size=1, max_size=settings.worker_concurrency + 2
    )
    if not _APP:
        app = App(connector=connector)
        app.add_tasks_from(blueprint, namespace="helpline")
        _APP.append(app)
    app = _APP[0]
    app.connector = connector
    app.job_manager.connector = connector
    return app


@asynccontextmanager
async def worker_context(
    settings: Settings,
    *,
    database_url: str | None = None,
    clock: Clock = utcnow,
    client: httpx.AsyncClient | None = None,
) -> AsyncIterator[context.WorkerContext]:
    """Engines and the HTTP client the tasks use, installed for this process."""
    url = database_url or resolve_database_url(settings)
    database = Database(make_engine(url, settings))
    owner = (
        Database(make_engine(settings.database_owner_url, settings, pool_size=1))
        if settings.database_owner_url and not database_url
        else database
    )
    pins = None
    if client is None:  # webhooks connect only to addresses the SSRF check approved
        http, pins = pinned_client()
    else:
        http = client
    ctx = context.WorkerContext(
        settings=settings,
        database=database,
        owner_database=owner,
        clock=clock,
        deliverer=Deliverer(
            database=database, settings=settings, clock=clock, client=http, pins=pins
        ),
        mail_processor=Processor(
            database=database, settings=settings, storage=make_storage(settings), clock=clock
        ),
        mail_sender=Sender(database=database, settings=settings, clock=clock),
    )
    context.use(ctx)
    try:
        yield ctx
    finally:
        context.use(None)
        if client is None:
            await http.aclose()
        if owner is not database:
            await owner.dispose()
        await database.dispose()


async def _run_until_signalled(worker: Coroutine[Any, Any, None]) -> None:
    """Run the job worker until SIGTERM/SIGINT, which stop it gracefully (procrastinate treats
    a cancelled worker as a stop request: running jobs get the shutdown timeout).

    The handlers are ours and installed before the worker starts: procrastinate installs its own
    only after it has registered the worker, so a SIGTERM in between killed the process at once
    (exit -15, the worker row left behind until pruned as stalled)."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(worker)
    signals: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, task.cancel)
        except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
            continue
        signals.append(sig)
    try:
        await asyncio.wait({task})
    except asyncio.CancelledError:  # this coroutine itself was cancelled: stop the worker too
        task.cancel()
        await asyncio.wait({task})
        raise
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
    if not task.cancelled():
        task.result()  # an error of the worker's is raised here


async def run_worker(settings: Settings, *, wait: bool = True, **options: object) -> None:
    """Run a worker until SIGTERM/SIGINT (graceful: running jobs get the shutdown timeout)."""
    app = make_app(settings)
    async with worker_context(settings) as ctx, app.open_async():
        # The IMAP loop runs beside the job worker in the same process, and stops with it.
        imap = ImapSupervisor(database=ctx.database, settings=settings, clock=ctx.clock)
        imap_task = asyncio.create_task(imap.run())
        # SLA clocks follow the change feed within about a second (ADR 0013).
        sla_loop = Periodic(
            "sla",
            lambda: sla_runner.step(
                ctx.database, ctx.clock, ticket_service.invalidate_sla_from_worker
            ),
            interval_s=1.0,
            final_step=False,
        )
        sla_loop.start()
        # Report metric facts follow the change feed too (docs/reports.md).
        reports_loop = Periodic(
            "reports",
            lambda: report_runner.follow_feed(ctx.database),
            interval_s=1.0,
            final_step=False,
        )
        reports_loop.start()
        # Automation rules read the change feed beside the jobs (ADR 0014).
        rules = RulesRunner(
            ctx.database,
            max_depth=settings.rules_max_depth,
            batch=settings.rules_batch,
            concurrency=settings.rules_concurrency,
            lease_s=settings.rules_lease_s,
            interval_s=settings.rules_poll_interval_s,
            clock=ctx.clock,
            mailer=mail_outbox.queue_reply,
        )
        rules.loop.start()
        try:
            await _run_until_signalled(
                app.run_worker_async(
                    queues=list(QUEUES),
                    concurrency=settings.worker_concurrency,
                    shutdown_graceful_timeout=settings.worker_shutdown_timeout_s,
                    wait=wait,
                    name="helpline-worker",
                    install_signal_handlers=False,
                    **options,  # type: ignore[arg-type]
                )
            )
        finally:
            await sla_loop.stop()
            await reports_loop.stop()
            imap.stop()
            await imap_task
            await rules.loop.stop()
            await rules.release()
