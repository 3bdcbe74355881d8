"""`helpline attachments gc`: the garbage collection of :mod:`helpline.attachment.gc` on demand
(the worker runs the same on its schedule)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from helpline.attachment import service
from helpline.attachment.gc import GcReport, collect_garbage
from helpline.attachment.storage import make_storage
from helpline.cli.running import fail, one_line_errors, run, settings_or_exit
from helpline.config import Settings
from helpline.db import Database, make_engine
from helpline.kit.clock import utcnow
from helpline.runtime import resolve_database_url

app = typer.Typer(help="Attachments.", no_args_is_help=True)

BATCH = 500
JOB = "attachments-gc"


async def _gc(settings: Settings, now: datetime, ttl: timedelta, grace: timedelta) -> GcReport:
    database = Database(make_engine(resolve_database_url(settings), settings, pool_size=2))
    try:
        return await collect_garbage(
            database, make_storage(settings), now, unbound_ttl=ttl, blob_grace=grace
        )
    finally:
        await database.dispose()


def _parse_now(value: str | None) -> datetime:
    if value is None:
        return utcnow()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"--now must be an ISO 8601 timestamp, not {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command("gc")
@one_line_errors
def gc(
    now: Annotated[
        str | None,
        typer.Option(help="Treat this ISO 8601 time as now (default: the clock; for tests)."),
    ] = None,
    max_age_hours: Annotated[
        float, typer.Option(min=0, help="Remove uploads left unbound for longer than this.")
    ] = service.UNBOUND_TTL.total_seconds() / 3600,
    blob_grace_minutes: Annotated[
        float, typer.Option(min=0, help="Never remove blobs or spool files younger than this.")
    ] = service.BLOB_GRACE.total_seconds() / 60,
) -> None:
    """Remove uploads not bound within 24 h, unreferenced blobs and abandoned spool files."""
    report = run(
        _gc(
            settings_or_exit(),
            _parse_now(now),
            timedelta(hours=max_age_hours),
            timedelta(minutes=blob_grace_minutes),
        )
    )
    typer.echo(
        f"removed {report.uploads_deleted} unbound uploads, {report.blobs_deleted} blobs, "
        f"{report.spool_files_deleted} abandoned spool files"
    )
