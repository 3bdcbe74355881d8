"""`helpline audit rotate` with an injectable clock: partitions ahead, archive, checksum, drop."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from helpline.audit import integrity, rotation
from helpline.models import AuditArchive, AuditLog
from tests.fixtures.factories import make_audit_event

pytestmark = pytest.mark.integration

NOW = datetime(2025, 3, 10, 12, tzinfo=UTC)  # retention 13 → partitions ending by 2024-02-01 expire


def read(path: Path) -> bytes:
    return path.read_bytes()


def size(path: Path) -> int:
    return path.stat().st_size


async def partitions(session) -> list[str]:
    return list(
        (
            await session.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'audit_log' ORDER BY 1"
                )
            )
        ).scalars()
    )


@pytest.fixture
async def old_log(session):
    """Partitions for Jan-Mar 2024 with 3 rows in January and 2 in February."""
    await session.execute(text("SELECT helpline_ensure_audit_partitions('2024-01-01', 3)"))
    for day in (3, 4, 5):
        await make_audit_event(
            session, action="old.jan", occurred_at=datetime(2024, 1, day, tzinfo=UTC)
        )
    for day in (1, 2):
        await make_audit_event(
            session, action="old.feb", occurred_at=datetime(2024, 2, day, tzinfo=UTC)
        )
    return session


async def run(session, tmp_path: Path, dry_run: bool = False, now: datetime = NOW):
    return await rotation.rotate(
        session, now=now, retention_months=13, archive_dir=tmp_path, dry_run=dry_run
    )


class TestRotate:
    async def test_dry_run_changes_nothing(self, old_log, tmp_path):
        before = await partitions(old_log)
        report = await run(old_log, tmp_path, dry_run=True)
        assert report.expired == ["audit_log_p202401"]
        assert report.partitions_missing == [
            "audit_log_p202503",
            "audit_log_p202504",
            "audit_log_p202505",
            "audit_log_p202506",
        ]
        assert "would archive and drop audit_log_p202401" in report.lines()
        assert await partitions(old_log) == before
        assert list(tmp_path.iterdir()) == []

    async def test_archives_exactly_the_expired_partitions(self, old_log, tmp_path):
        report = await run(old_log, tmp_path)
        assert [a.partition for a in report.archived] == ["audit_log_p202401"]
        parts = await partitions(old_log)
        assert "audit_log_p202401" not in parts
        assert {"audit_log_p202402", "audit_log_p202403"} <= set(parts)
        assert {f"audit_log_p2025{m:02d}" for m in (3, 4, 5, 6)} <= set(parts)
        (archive,) = (await old_log.execute(select(AuditArchive))).scalars()
        path = Path(archive.file_path)
        assert path == tmp_path / "audit_log_p202401.jsonl.gz"
        assert hashlib.sha256(read(path)).hexdigest() == archive.sha256
        assert archive.size_bytes == size(path)
        assert archive.row_count == 3
        assert (archive.range_start, archive.range_end) == (
            datetime(2024, 1, 1, tzinfo=UTC),
            datetime(2024, 2, 1, tzinfo=UTC),
        )
        lines = [json.loads(line) for line in gzip.decompress(read(path)).splitlines()]
        assert [r["action"] for r in lines] == ["old.jan"] * 3
        assert lines[0]["occurred_at"].startswith("2024-01-03")
        remaining = (
            await old_log.execute(
                select(AuditLog.action).where(
                    AuditLog.occurred_at < datetime(2024, 3, 1, tzinfo=UTC)
                )
            )
        ).scalars()
        assert sorted(remaining) == ["old.feb", "old.feb"]
        (event,) = (
            await old_log.execute(select(AuditLog).where(AuditLog.action == "audit.rotated"))
        ).scalars()
        assert event.actor_type == "system"
        assert event.changes["archived"] == [
            {"partition": "audit_log_p202401", "rows": 3, "sha256": archive.sha256}
        ]

    async def test_second_run_does_nothing(self, old_log, tmp_path):
        await run(old_log, tmp_path)
        parts = await partitions(old_log)
        again = await run(old_log, tmp_path)
        assert again.expired == []
        assert again.archived == []
        assert again.partitions_created == 0
        assert await partitions(old_log) == parts
        assert len((await old_log.execute(select(AuditArchive))).scalars().all()) == 1

    async def test_export_is_deterministic(self, old_log, tmp_path):
        first = await rotation.export_partition(old_log, "audit_log_p202401", tmp_path / "a.gz")
        second = await rotation.export_partition(old_log, "audit_log_p202401", tmp_path / "b.gz")
        assert first == second
        assert first[0] == 3
        assert not list(tmp_path.glob("*.partial"))

    async def test_verify_checks_archives(self, old_log, tmp_path):
        sealed = await integrity.seal(
            old_log, now=datetime(2024, 2, 20, tzinfo=UTC), settle_minutes=10
        )
        assert sealed is not None
        assert sealed.rows == 5
        await run(old_log, tmp_path)
        report = await integrity.verify(old_log)
        assert report.ok, report.problems
        assert report.archives == 1
        archive = tmp_path / "audit_log_p202401.jsonl.gz"
        archive.write_bytes(archive.read_bytes() + b"x")
        report = await integrity.verify(old_log)
        assert any("does not match its recorded SHA-256" in p for p in report.problems)


class TestPartitionsAhead:
    async def test_next_months_rows_land_in_a_premade_partition(self, session):
        today = date.today()
        next_month = rotation.add_months(date(today.year, today.month, 1), 1)
        moment = datetime(next_month.year, next_month.month, 1, tzinfo=UTC) + timedelta(hours=1)
        await make_audit_event(session, action="future.event", occurred_at=moment)
        where = (
            await session.execute(
                text("SELECT tableoid::regclass::text FROM audit_log WHERE action = 'future.event'")
            )
        ).scalar_one()
        assert where == f"audit_log_p{next_month:%Y%m}"

    async def test_rotate_keeps_three_months_ahead(self, session, tmp_path):
        now = datetime.now(UTC)
        await run(session, tmp_path, now=now)
        this_month = date(now.year, now.month, 1)
        parts = set(await partitions(session))
        for i in range(4):
            assert rotation.partition_name(rotation.add_months(this_month, i)) in parts


class TestCommandLine:
    def test_rotate_and_verify_commands(self, make_database, tmp_path):
        url = make_database()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELPLINE_")}
        env.update(HELPLINE_ENV="test", HELPLINE_DATABASE_URL=url, HELPLINE_VAR_DIR=str(tmp_path))
        helpline = str(Path(sys.executable).parent / "helpline")

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [helpline, "audit", *args], env=env, capture_output=True, text=True, check=False
            )

        dry = cli("rotate", "--dry-run", "--now", "2030-01-15T00:00:00Z")
        assert dry.returncode == 0, dry.stderr
        assert "would create 4 partition(s)" in dry.stdout
        done = cli("rotate", "--now", "2030-01-15T00:00:00Z")
        assert done.returncode == 0, done.stderr
        assert "archive" in done.stdout  # this month's partitions are now 4 years old
        again = cli("rotate", "--now", "2030-01-15T00:00:00Z")
        assert "no expired partitions" in again.stdout
        assert "created 0 partition(s) ahead" in again.stdout
        verified = cli("verify")
        assert verified.returncode == 0, verified.stderr
        assert verified.stdout.startswith(("ok:", "note:", "sealed"))
        bad = cli("rotate", "--now", "yesterday")
        assert bad.returncode == 1
        assert "--now must be" in bad.stderr
