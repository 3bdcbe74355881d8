"""`helpline audit rotate`: partitions ahead, archive + drop expired ones. Idempotent.

Partitions are monthly (``audit_log_pYYYYMM``). A partition whose whole month lies before
``month(now) - retention_months`` is expired: its rows are exported to
``<archive_dir>/<partition>.jsonl.gz`` (gzip with a fixed header, so the same rows give the same
bytes), the file's SHA-256 is recorded in ``audit_archives``, and the partition is detached and
dropped — all in the caller's transaction, so a failure leaves the partition in place.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import repository
from helpline.audit.schemas import AuditEvent
from helpline.audit.service import record_events

MONTHS_AHEAD = 3


def month_start(moment: datetime) -> date:
    return date(moment.year, moment.month, 1)


def add_months(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class ArchivedPartition:
    partition: str
    rows: int
    path: Path
    sha256: str
    size_bytes: int


@dataclass(slots=True)
class RotationReport:
    now: datetime
    cutoff: date
    dry_run: bool
    partitions_created: int = 0
    partitions_missing: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    archived: list[ArchivedPartition] = field(default_factory=list)
    default_partition_rows: int = 0

    def lines(self) -> list[str]:
        verb = "would" if self.dry_run else "did"
        out = [f"cutoff {self.cutoff.isoformat()} (partitions wholly before it expire)"]
        if self.dry_run:
            out.append(
                f"would create {len(self.partitions_missing)} partition(s): "
                + (", ".join(self.partitions_missing) or "none")
            )
        else:
            out.append(f"created {self.partitions_created} partition(s) ahead")
        if not self.expired:
            out.append("no expired partitions")
        for name in self.expired:
            done = next((a for a in self.archived if a.partition == name), None)
            if done is None:
                out.append(f"{verb} archive and drop {name}")
            else:
                out.append(f"archived {name}: {done.rows} rows → {done.path} sha256={done.sha256}")
        if self.default_partition_rows:
            out.append(
                f"warning: {self.default_partition_rows} row(s) in audit_log_p_default "
                "(a partition was missing when they were written)"
            )
        return out


def partition_name(month: date) -> str:
    return f"audit_log_p{month:%Y%m}"


async def export_partition(
    session: AsyncSession, partition: str, target: Path
) -> tuple[int, str, int]:
    """Write the partition to a gzip JSON Lines file atomically; (rows, sha256, size)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    rows = 0
    # Blocking file I/O is fine here: rotation is a CLI job with nothing else on its loop.
    with open(partial, "wb") as raw:  # noqa: ASYNC230
        # mtime=0 and no file name: identical rows give an identical archive.
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            async for line in repository.stream_partition(session, partition):
                gz.write(line.encode() + b"\n")
                rows += 1
        raw.flush()
        os.fsync(raw.fileno())
    digest = hashlib.sha256()
    with open(partial, "rb") as fh:  # noqa: ASYNC230
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    size = partial.stat().st_size
    partial.replace(target)
    return rows, digest.hexdigest(), size


async def rotate(
    session: AsyncSession,
    *,
    now: datetime,
    retention_months: int,
    archive_dir: Path,
    dry_run: bool = False,
) -> RotationReport:
    """Create the next partitions, archive and drop expired ones (see module docstring)."""
    now = now.astimezone(UTC)
    this_month = month_start(now)
    cutoff = add_months(this_month, -retention_months)
    report = RotationReport(now=now, cutoff=cutoff, dry_run=dry_run)
    existing = await repository.list_partitions(session)
    names = {p.name for p in existing}
    wanted = [partition_name(add_months(this_month, i)) for i in range(MONTHS_AHEAD + 1)]
    report.partitions_missing = [n for n in wanted if n not in names]
    if not dry_run:
        report.partitions_created = await repository.ensure_partitions(
            session, this_month, MONTHS_AHEAD + 1
        )
    cutoff_at = datetime(cutoff.year, cutoff.month, 1, tzinfo=UTC)
    report.expired = [p.name for p in existing if p.range_end <= cutoff_at]
    report.default_partition_rows = await repository.count_default_partition(session)
    if dry_run:
        return report
    for part in existing:
        if part.name not in report.expired:
            continue
        path = archive_dir / f"{part.name}.jsonl.gz"
        rows, sha256, size = await export_partition(session, part.name, path)
        await repository.insert_archive(
            session,
            {
                "partition_name": part.name,
                "range_start": part.range_start,
                "range_end": part.range_end,
                "row_count": rows,
                "file_path": str(path),
                "sha256": sha256,
                "size_bytes": size,
            },
        )
        await repository.detach_and_drop(session, part.name)
        report.archived.append(ArchivedPartition(part.name, rows, path, sha256, size))
    await record_events(
        session,
        [
            AuditEvent(
                action="audit.rotated",
                occurred_at=now,
                changes={
                    "cutoff": cutoff.isoformat(),
                    "partitions_created": report.partitions_created,
                    "archived": [
                        {"partition": a.partition, "rows": a.rows, "sha256": a.sha256}
                        for a in report.archived
                    ],
                },
            )
        ],
    )
    return report


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
