"""Backup operations: create, list, restore, verify and prune.

A backup is a directory ``<backup_dir>/<name>/`` holding ``database.dump`` (pg_dump custom
format, compressed by pg_dump itself) and ``manifest.json`` (checksums, schema revision and the
per-table statistics taken in the same snapshot as the dump). It is written under
``<name>.partial`` and renamed when complete, so a crashed run never looks like a backup.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from helpline.backup import pg
from helpline.backup.errors import (
    BackupError,
    BackupNotFound,
    BackupTooOld,
    DatabaseUrlMissing,
    TargetNotEmpty,
    VerificationFailed,
)
from helpline.backup.manifest import (
    DatabaseStats,
    Manifest,
    check_files,
    file_entry,
    read_manifest,
    write_manifest,
)
from helpline.backup.retention import select_retained

# For callers that pass no level; the CLI passes HELPLINE_BACKUP_COMPRESSION_LEVEL (also 6).
DEFAULT_COMPRESSION_LEVEL = 6
DUMP_NAME = "database.dump"
PARTIAL_SUFFIX = ".partial"

Step = Callable[[str], None]


def _no_step(_: str) -> None:
    return None


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    manifest: Manifest

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def created_at(self) -> datetime:
        return self.manifest.created_at


@dataclass(frozen=True)
class AuditCheckResult:
    status: Literal["passed", "failed", "skipped"]
    detail: str


AuditCheck = Callable[[pg.DatabaseUrl], Awaitable[AuditCheckResult]]


@dataclass
class VerifyReport:
    backup: str
    scratch_database: str
    tables_checked: int = 0
    rows_checked: int = 0
    differences: list[str] = field(default_factory=list)
    audit: AuditCheckResult | None = None

    @property
    def ok(self) -> bool:
        return not self.differences and (self.audit is None or self.audit.status != "failed")


def require_url(raw: str | None) -> pg.DatabaseUrl:
    if not raw:
        raise DatabaseUrlMissing(
            "no database URL: set HELPLINE_DATABASE_URL (postgresql://user:pass@host:port/db) "
            "or pass --database-url"
        )
    return pg.DatabaseUrl.parse(raw)


def backup_name(database: str, moment: datetime) -> str:
    return f"{database}-{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}"


@asynccontextmanager
async def _connection(url: pg.DatabaseUrl) -> AsyncIterator[Any]:
    conn = await pg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


async def create_backup(
    source: pg.DatabaseUrl,
    backup_dir: Path,
    *,
    compression_level: int = DEFAULT_COMPRESSION_LEVEL,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    step: Step = _no_step,
) -> BackupInfo:
    """Dump the database and write its manifest; return the finished backup."""
    if not 0 <= compression_level <= 9:
        raise BackupError("compression level must be between 0 and 9")
    pg_dump = pg.tool("pg_dump")
    created_at = now()
    name = backup_name(source.database, created_at)
    final = backup_dir / name
    if final.exists():
        raise BackupError(f"{final} already exists")
    partial = backup_dir / (name + PARTIAL_SUFFIX)
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        dump_version = await pg.tool_version("pg_dump")
        # One REPEATABLE READ snapshot, exported to pg_dump: the statistics recorded in the
        # manifest describe exactly the rows in the dump, even while the service keeps writing.
        async with (
            _connection(source) as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            step("dumping")
            dump = asyncio.ensure_future(
                pg.run_tool(
                    [
                        pg_dump,
                        "--format=custom",
                        f"--compress={compression_level}",
                        "--no-password",
                        f"--snapshot={snapshot}",
                        f"--file={partial / DUMP_NAME}",
                        f"--dbname={source.public_url}",
                    ],
                    env=source.client_env(),
                )
            )
            try:
                step("counting rows")
                stats = await pg.table_stats(conn)
                revision = await pg.schema_revision(conn)
                version = await pg.server_version(conn)
            finally:
                await dump
        step("writing manifest")
        manifest = Manifest(
            name=name,
            created_at=created_at,
            database=source.database,
            server_version=version,
            pg_dump_version=dump_version,
            schema_revision=revision,
            compression_level=compression_level,
            files=[file_entry(partial, DUMP_NAME)],
            stats=stats,
        )
        write_manifest(partial, manifest)
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return BackupInfo(final, manifest)


def list_backups(backup_dir: Path) -> list[BackupInfo]:
    """Complete backups in a directory, newest first (partial and foreign entries are ignored)."""
    if not backup_dir.is_dir():
        return []
    found: list[BackupInfo] = []
    for child in backup_dir.iterdir():
        if not child.is_dir() or child.name.endswith(PARTIAL_SUFFIX):
            continue
        try:
            found.append(BackupInfo(child, read_manifest(child)))
        except BackupNotFound:
            continue
    return sorted(found, key=lambda b: b.created_at, reverse=True)


def resolve_backup(ref: str, backup_dir: Path) -> BackupInfo:
    """A backup named by path, by name inside backup_dir, or ``latest``."""
    if ref == "latest":
        backups = list_backups(backup_dir)
        if not backups:
            raise BackupNotFound(f"no backups in {backup_dir}")
        return backups[0]
    candidate = Path(ref)
    if candidate.name == "manifest.json":
        candidate = candidate.parent
    if not candidate.is_dir():
        candidate = backup_dir / ref
    return BackupInfo(candidate, read_manifest(candidate))


def check_age(backup: BackupInfo, max_age: timedelta, now: datetime) -> None:
    age = now - backup.created_at
    if age > max_age:
        hours = age.total_seconds() / 3600
        limit = max_age.total_seconds() / 3600
        raise BackupTooOld(f"backup {backup.name} is {hours:.1f} h old (limit {limit:g} h)")


async def restore_backup(
    backup: BackupInfo,
    server: pg.DatabaseUrl,
    target_database: str,
    *,
    force: bool = False,
    no_owner: bool = False,
    maintenance_database: str = "postgres",
    step: Step = _no_step,
) -> pg.DatabaseUrl:
    """Restore into ``target_database`` on the server of ``server``; return the target's URL.

    An absent target is created; an existing one must hold no user relations unless ``force``,
    in which case it is dropped and recreated (the restore is all-or-nothing either way).
    """
    pg_restore = pg.tool("pg_restore")
    pg.check_database_name(target_database)
    step("checking files")
    check_files(backup.path, backup.manifest)
    target = server.with_database(target_database)
    async with _connection(server.with_database(maintenance_database)) as maintenance:
        if await pg.database_exists(maintenance, target_database):
            async with _connection(target) as conn:
                relations = await pg.user_relation_count(conn)
            if relations and not force:
                raise TargetNotEmpty(
                    f"database {target_database} is not empty ({relations} relations); "
                    "pass --force to replace it"
                )
            if relations:
                step(f"dropping {target_database}")
                await pg.drop_database(maintenance, target_database)
                await pg.create_database(maintenance, target_database)
        else:
            await pg.create_database(maintenance, target_database)
    step("restoring")
    argv = [pg_restore, "--exit-on-error", "--single-transaction", "--no-password"]
    if no_owner:
        argv += ["--no-owner", "--no-acl"]
    argv += [f"--dbname={target.public_url}", str(backup.path / backup.manifest.dump_file.path)]
    await pg.run_tool(argv, env=target.client_env())
    return target


def compare_stats(expected: DatabaseStats, actual: DatabaseStats) -> list[str]:
    """Human-readable differences between two statistics snapshots (empty when equal)."""
    differences: list[str] = []
    for name in sorted(expected.tables.keys() | actual.tables.keys()):
        want, got = expected.tables.get(name), actual.tables.get(name)
        if want is None:
            differences.append(f"table {name}: present in restore, absent from source")
        elif got is None:
            differences.append(f"table {name}: missing from restore")
        elif want.rows != got.rows:
            differences.append(f"table {name}: {got.rows} rows restored, {want.rows} in source")
        elif want.checksum != got.checksum:
            differences.append(f"table {name}: content checksum differs")
    for name in sorted(expected.sequences.keys() | actual.sequences.keys()):
        if expected.sequences.get(name) != actual.sequences.get(name):
            differences.append(
                f"sequence {name}: {actual.sequences.get(name)} restored, "
                f"{expected.sequences.get(name)} in source"
            )
    return differences


async def verify_backup(
    backup: BackupInfo,
    server: pg.DatabaseUrl,
    *,
    audit_check: AuditCheck | None = None,
    keep_scratch: bool = False,
    no_owner: bool = False,
    maintenance_database: str = "postgres",
    step: Step = _no_step,
) -> VerifyReport:
    """Restore into a scratch database and compare it with the source as recorded at dump time.

    Raises VerificationFailed (after cleaning up) when anything differs or the audit check fails.
    """
    scratch = f"helpline_verify_{secrets.token_hex(6)}"
    report = VerifyReport(backup=backup.name, scratch_database=scratch)
    try:
        restored = await restore_backup(
            backup,
            server,
            scratch,
            no_owner=no_owner,
            maintenance_database=maintenance_database,
            step=step,
        )
        step("comparing")
        async with _connection(restored) as conn:
            actual = await pg.table_stats(conn)
            revision = await pg.schema_revision(conn)
        report.tables_checked = len(actual.tables)
        report.rows_checked = sum(t.rows for t in actual.tables.values())
        report.differences = compare_stats(backup.manifest.stats, actual)
        if revision != backup.manifest.schema_revision:
            report.differences.append(
                f"schema revision {revision} restored, {backup.manifest.schema_revision} in source"
            )
        if audit_check is not None:
            # Hook: the audit trail's own integrity check (`helpline audit verify`) run against
            # the restored copy, so a backup is only "good" if its audit log is intact too.
            step("verifying audit log")
            report.audit = await audit_check(restored)
    finally:
        if not keep_scratch:
            async with _connection(server.with_database(maintenance_database)) as maintenance:
                await pg.drop_database(maintenance, scratch)
    if not report.ok:
        problems = list(report.differences)
        if report.audit is not None and report.audit.status == "failed":
            problems.append(f"audit verify failed: {report.audit.detail}")
        raise VerificationFailed(
            f"backup {backup.name} failed verification (scratch database {scratch}, dropped "
            f"unless kept): "
            + "; ".join(problems[:5])
            + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else "")
        )
    return report


@dataclass(frozen=True)
class PrunePlan:
    keep: list[BackupInfo]
    delete: list[BackupInfo]


def plan_prune(backup_dir: Path, keep_daily: int, keep_weekly: int) -> PrunePlan:
    backups = list_backups(backup_dir)
    keep = select_retained(backups, lambda b: b.created_at, keep_daily, keep_weekly)
    kept = {b.path for b in keep}
    return PrunePlan(keep=keep, delete=[b for b in backups if b.path not in kept])


def prune_backups(
    backup_dir: Path, keep_daily: int, keep_weekly: int, *, dry_run: bool = False
) -> PrunePlan:
    """Delete the backups the retention policy does not keep; return what was kept and deleted."""
    plan = plan_prune(backup_dir, keep_daily, keep_weekly)
    if not dry_run:
        for backup in plan.delete:
            shutil.rmtree(backup.path)
    return plan
