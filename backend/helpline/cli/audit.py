"""`helpline audit`: rotate partitions and verify the tamper evidence of the audit log.

Both run as the schema owner (HELPLINE_DATABASE_OWNER_URL, else HELPLINE_DATABASE_URL): the
runtime role may not create, detach or drop partitions, nor write seals.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import integrity, rotation
from helpline.audit.schemas import AuditEvent
from helpline.audit.service import record_events
from helpline.cli.running import fail, in_transaction, one_line_errors, settings_or_exit
from helpline.config import Settings
from helpline.runtime import resolve_database_url

T = TypeVar("T")

app = typer.Typer(help="Audit log rotation and verification.", no_args_is_help=True)

NowOption = Annotated[
    str | None,
    typer.Option("--now", help="Pretend the current time is this ISO 8601 instant (testing)."),
]


def owner_url(settings: Settings) -> str:
    return settings.database_owner_url or resolve_database_url(settings)


def parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"--now must be an ISO 8601 date/time, not {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def record_system_event(action: str, **changes: str) -> None:
    """Write one system event now (e.g. `system.migrated`); a failure is reported, not fatal."""
    settings = settings_or_exit()

    async def work(session: AsyncSession) -> None:
        event = AuditEvent(action=action, occurred_at=datetime.now(UTC), changes=changes or None)
        await record_events(session, [event])

    try:
        asyncio.run(in_transaction(settings, action, work, database_url=owner_url(settings)))
    except Exception as exc:  # the schema may predate audit_log (downgraded databases)
        typer.secho(f"warning: could not record {action}: {exc}", err=True)


@app.command()
@one_line_errors
def rotate(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would be done.")
    ] = False,
    now: NowOption = None,
    archive_dir: Annotated[
        Path | None, typer.Option(help="Archive directory (default: <var_dir>/audit-archive).")
    ] = None,
) -> None:
    """Create partitions ahead; archive, record and drop partitions past the retention."""
    settings = settings_or_exit()
    moment = parse_now(now)
    target = archive_dir or settings.var_dir / "audit-archive"

    async def work(session: AsyncSession) -> rotation.RotationReport:
        return await rotation.rotate(
            session,
            now=moment,
            retention_months=settings.audit_retention_months,
            archive_dir=target,
            dry_run=dry_run,
        )

    report = asyncio.run(
        in_transaction(settings, "audit rotate", work, database_url=owner_url(settings))
    )
    for line in report.lines():
        typer.echo(line)


@app.command()
@one_line_errors
def verify(
    seal: Annotated[
        bool, typer.Option(help="After a clean verification, seal the hours settled since.")
    ] = True,
    now: NowOption = None,
) -> None:
    """Recompute seals, hourly digests and archive checksums; exit 1 on any mismatch."""
    settings = settings_or_exit()
    moment = parse_now(now)

    async def work(session: AsyncSession) -> tuple[integrity.VerifyReport, str | None]:
        report = await integrity.verify(session)
        sealed = None
        if report.ok and seal:
            result = await integrity.seal(
                session, now=moment, settle_minutes=settings.audit_seal_settle_minutes
            )
            if result is not None:
                report.head = result.chain
                sealed = (
                    f"sealed {result.rows} row(s) from {result.range_start.isoformat()} "
                    f"to {result.range_end.isoformat()}"
                )
        await record_events(
            session,
            [
                AuditEvent(
                    action="audit.verified",
                    outcome="success" if report.ok else "failure",
                    occurred_at=moment,
                    changes={"problems": report.problems[:20], "head": report.head},
                )
            ],
        )
        return report, sealed

    report, sealed = asyncio.run(
        in_transaction(settings, "audit verify", work, database_url=owner_url(settings))
    )
    for note in report.notes:
        typer.echo(f"note: {note}")
    if sealed:
        typer.echo(sealed)
    if not report.ok:
        for problem in report.problems:
            typer.secho(f"tampered: {problem}", err=True, fg=typer.colors.RED)
        raise fail(f"audit log verification failed ({len(report.problems)} problem(s))")
    typer.echo(
        f"ok: {report.seals} seal(s), {report.rows} sealed row(s), {report.archives} archive(s); "
        f"chain head {report.head or '-'}"
    )
