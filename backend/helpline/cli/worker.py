"""`helpline worker` and `helpline jobs list|retry`: the procrastinate worker and its queue."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer

from helpline.cli.running import fail, one_line_errors, settings_or_exit

T = TypeVar("T")


def _queue(work: Coroutine[Any, Any, T]) -> T:
    """Run queue work; connection failures of the queue's driver (psycopg) are one line."""
    import psycopg
    import psycopg_pool

    try:
        return asyncio.run(work)
    except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
        raise fail(f"database: {str(exc).splitlines()[0]}") from exc


jobs_app = typer.Typer(help="Background jobs (procrastinate queue).", no_args_is_help=True)


@one_line_errors
def worker() -> None:
    """Run the job worker: webhook deliveries and periodic tasks (SIGTERM stops it gracefully)."""
    from helpline.jobs.worker import run_worker

    _queue(run_worker(settings_or_exit()))


@jobs_app.command("list")
@one_line_errors
def list_jobs(
    failed: Annotated[bool, typer.Option("--failed", help="Only failed jobs.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many (newest first).")] = 50,
) -> None:
    """Jobs with their status, attempts and arguments."""
    from helpline.jobs.worker import make_app

    app = make_app(settings_or_exit())

    async def work() -> list[object]:
        async with app.open_async():
            rows = await app.job_manager.list_jobs_async(status="failed" if failed else None)
            return list(rows)

    jobs = sorted(_queue(work()), key=lambda j: j.id or 0, reverse=True)[:limit]  # type: ignore[attr-defined]
    for job in jobs:
        typer.echo(
            f"{job.id}\t{job.status}\t{job.task_name}\tattempts={job.attempts}\t"  # type: ignore[attr-defined]
            f"{job.task_kwargs}"  # type: ignore[attr-defined]
        )
    if not jobs:
        typer.echo("no jobs")


@jobs_app.command("retry")
@one_line_errors
def retry(job_id: Annotated[int, typer.Argument(help="Id of a failed job.")]) -> None:
    """Queue a failed job again (now)."""
    from helpline.jobs.worker import make_app

    app = make_app(settings_or_exit())

    async def work() -> None:
        async with app.open_async():
            status = await app.job_manager.get_job_status_async(job_id)
            if str(status.value if hasattr(status, "value") else status) != "failed":
                raise fail(f"job {job_id} is {status}, not failed")
            await app.job_manager.retry_job_by_id_async(job_id, retry_at=datetime.now(UTC))

    _queue(work())
    typer.echo(f"job {job_id} queued again")
