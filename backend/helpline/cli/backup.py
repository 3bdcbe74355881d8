"""``helpline backup``: create, list, restore, verify and prune database backups."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from helpline.backup import service
from helpline.backup.errors import BackupError
from helpline.backup.hooks import audit_verify_via_cli
from helpline.backup.pg import DatabaseUrl
from helpline.config import Settings, get_settings

app = typer.Typer(
    help="Create, restore, verify and prune database backups (pg_dump custom format).",
    no_args_is_help=True,
)
_err = Console(stderr=True)
T = TypeVar("T")

DatabaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="PostgreSQL URL; default: HELPLINE_DATABASE_URL from the settings.",
        show_default=False,
    ),
]
BackupDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--backup-dir",
        help="Directory holding backups; default: settings.backup_dir, else <var_dir>/backups.",
        show_default=False,
    ),
]
BackupRef = Annotated[
    str, typer.Argument(help="Backup directory, backup name inside --backup-dir, or 'latest'.")
]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _settings() -> Settings:
    try:
        return get_settings()
    except (ValidationError, ValueError) as exc:
        _fail(str(exc).splitlines()[0])


def _database_url(option: str | None) -> DatabaseUrl:
    return service.require_url(option if option else _settings().database_url)


def _backup_dir(option: Path | None) -> Path:
    if option is not None:
        return option
    return _settings().backup_dir or _settings().var_dir / "backups"


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except BackupError as exc:
        _fail(str(exc))


@contextmanager
def _progress(title: str) -> Iterator[service.Step]:
    with _err.status(title) as status:

        def step(message: str) -> None:
            status.update(f"{title}: {message}")

        yield step


@app.command()
def create(
    database_url: DatabaseUrlOpt = None,
    backup_dir: BackupDirOpt = None,
    compression_level: Annotated[
        int | None,
        typer.Option(
            "--compression-level",
            min=0,
            max=9,
            help="pg_dump compression, 0 (none) to 9; default: settings or 6.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Dump the database (consistent snapshot) and write a checksummed manifest. Prints the path."""
    url = _database_url(database_url)
    directory = _backup_dir(backup_dir)
    level = (
        compression_level if compression_level is not None else _settings().backup_compression_level
    )
    with _progress("backup") as step:
        info = _run(service.create_backup(url, directory, compression_level=level, step=step))
    typer.echo(str(info.path))


@app.command("list")
def list_backups(
    backup_dir: BackupDirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List complete backups, newest first."""
    backups = service.list_backups(_backup_dir(backup_dir))
    if as_json:
        rows = [
            {
                "name": b.name,
                "path": str(b.path),
                "created_at": b.created_at.isoformat(),
                "schema_revision": b.manifest.schema_revision,
                "size": sum(f.size for f in b.manifest.files),
            }
            for b in backups
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    for b in backups:
        size = sum(f.size for f in b.manifest.files)
        typer.echo(f"{b.name}\t{b.created_at.isoformat()}\t{size}\t{b.manifest.schema_revision}")


@app.command()
def restore(
    backup: BackupRef,
    target_db: Annotated[
        str, typer.Option("--target-db", help="Database to restore into (created if absent).")
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Drop and replace the target if it holds data.")
    ] = False,
    no_owner: Annotated[
        bool,
        typer.Option(
            "--no-owner", help="Skip ownership and grants (restoring to another cluster)."
        ),
    ] = False,
    database_url: DatabaseUrlOpt = None,
    backup_dir: BackupDirOpt = None,
) -> None:
    """Check the backup's checksums, then restore it into --target-db on the configured server."""
    url = _database_url(database_url)
    try:
        info = service.resolve_backup(backup, _backup_dir(backup_dir))
    except BackupError as exc:
        _fail(str(exc))
    with _progress(f"restore {info.name}") as step:
        target = _run(
            service.restore_backup(info, url, target_db, force=force, no_owner=no_owner, step=step)
        )
    typer.echo(f"restored {info.name} into {target.public_url}")


@app.command()
def verify(
    backup: Annotated[
        str, typer.Argument(help="Backup directory, name inside --backup-dir, or 'latest'.")
    ] = "latest",
    max_age_hours: Annotated[
        float | None,
        typer.Option(
            "--max-age-hours",
            min=0,
            help="Also fail when the backup is older than this (catches a stopped schedule).",
        ),
    ] = None,
    audit: Annotated[
        bool,
        typer.Option(
            "--audit/--no-audit", help="Run `helpline audit verify` on the restored copy."
        ),
    ] = True,
    keep_scratch: Annotated[
        bool, typer.Option("--keep-scratch", help="Keep the scratch database for inspection.")
    ] = False,
    no_owner: Annotated[
        bool,
        typer.Option("--no-owner", help="Skip ownership and grants (scratch on another server)."),
    ] = False,
    database_url: DatabaseUrlOpt = None,
    backup_dir: BackupDirOpt = None,
) -> None:
    """Restore into a scratch database and compare row counts and checksums with the source."""
    url = _database_url(database_url)
    try:
        info = service.resolve_backup(backup, _backup_dir(backup_dir))
        if max_age_hours is not None:
            service.check_age(info, timedelta(hours=max_age_hours), datetime.now(UTC))
    except BackupError as exc:
        _fail(str(exc))
    with _progress(f"verify {info.name}") as step:
        report = _run(
            service.verify_backup(
                info,
                url,
                audit_check=audit_verify_via_cli if audit else None,
                keep_scratch=keep_scratch,
                no_owner=no_owner,
                step=step,
            )
        )
    audit_note = f"; audit: {report.audit.status} ({report.audit.detail})" if report.audit else ""
    typer.echo(
        f"verified {report.backup}: {report.tables_checked} tables, {report.rows_checked} rows "
        f"match the source{audit_note}"
    )
    state = "kept" if keep_scratch else "dropped"
    typer.echo(f"scratch database {report.scratch_database} {state}")


@app.command()
def prune(
    keep_daily: Annotated[
        int | None,
        typer.Option("--keep-daily", min=0, help="Newest backup of each of the last N days."),
    ] = None,
    keep_weekly: Annotated[
        int | None,
        typer.Option("--keep-weekly", min=0, help="Newest backup of each of the last M weeks."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only print what would be deleted.")
    ] = False,
    backup_dir: BackupDirOpt = None,
) -> None:
    """Delete backups outside the retention policy (the newest is always kept)."""
    daily = keep_daily if keep_daily is not None else _settings().backup_keep_daily
    weekly = keep_weekly if keep_weekly is not None else _settings().backup_keep_weekly
    plan = service.prune_backups(_backup_dir(backup_dir), daily, weekly, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for b in plan.delete:
        typer.echo(f"{verb} {b.name}")
    typer.echo(f"kept {len(plan.keep)}, {verb} {len(plan.delete)}")


if __name__ == "__main__":  # `python -m helpline.cli.backup`, before it is registered in main
    app()
