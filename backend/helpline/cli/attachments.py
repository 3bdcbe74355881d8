"""`helpline attachments gc`: remove uploads never bound to a message, then unreferenced blobs.

Safe on a schedule and alongside the API: stale uploads are deleted in small transactions with
SKIP LOCKED (an upload being bound right now is left alone), and a blob is deleted only under an
exclusive advisory lock that in-flight uploads of the same content hold shared until they commit.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from helpline.attachment import service
from helpline.attachment.storage import StorageBackend, make_storage, sweep_spool
from helpline.cli.jobs import fail, one_line_errors, run, settings_or_exit
from helpline.config import Settings
from helpline.db import ActorContext, Database, make_engine
from helpline.kit.clock import utcnow
from helpline.runtime import resolve_database_url

app = typer.Typer(help="Attachments.", no_args_is_help=True)

BATCH = 500
JOB = "attachments-gc"


@dataclass(frozen=True, slots=True)
class GcReport:
    uploads_deleted: int
    blobs_deleted: int
    spool_files_deleted: int


async def collect_garbage(
    database: Database,
    storage: StorageBackend,
    now: datetime,
    *,
    unbound_ttl: timedelta = service.UNBOUND_TTL,
    blob_grace: timedelta = service.BLOB_GRACE,
    batch: int = BATCH,
) -> GcReport:
    """The gc job: each batch is its own transaction, so a long run never holds locks for long."""
    actor = ActorContext.system(JOB)
    uploads = 0
    while True:
        async with database.transaction(actor) as session:
            deleted = await service.delete_stale_uploads(session, now, ttl=unbound_ttl, limit=batch)
        uploads += deleted
        if deleted < batch:
            break
    candidates = await service.orphan_blob_candidates(storage, now, grace=blob_grace)
    blobs = 0
    for i in range(0, len(candidates), batch):
        async with database.transaction(actor) as session:
            removed = await service.delete_orphan_blobs(session, storage, candidates[i : i + batch])
        blobs += len(removed)
    spool = await asyncio.to_thread(sweep_spool, storage.spool_dir, now - blob_grace)
    return GcReport(uploads_deleted=uploads, blobs_deleted=blobs, spool_files_deleted=spool)


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
