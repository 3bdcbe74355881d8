"""Backup building blocks without a database: retention, manifest checksums, URL handling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpline.backup.errors import BackupError, ChecksumMismatch
from helpline.backup.manifest import DatabaseStats, Manifest, check_files, file_entry
from helpline.backup.pg import DatabaseUrl, check_database_name
from helpline.backup.retention import select_retained
from helpline.backup.service import compare_stats

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 25, 2, 30, tzinfo=UTC)  # a Wednesday


def nightly(days: int, per_day: int = 1) -> list[datetime]:
    return [T0 - timedelta(days=d, hours=h) for d in range(days) for h in range(per_day)]


class TestRetention:
    def test_keeps_newest_per_day_and_week(self):
        backups = nightly(60, per_day=2)
        kept = select_retained(backups, lambda b: b, keep_daily=7, keep_weekly=4)
        days = {b.date() for b in kept}
        assert len([b for b in kept if b >= T0 - timedelta(days=6, hours=2)]) == 7
        assert len(days) == len(kept)  # one per day, the newest of that day
        assert all(b == max(x for x in backups if x.date() == b.date()) for b in kept)
        weeks = {b.isocalendar()[:2] for b in kept}
        assert len(weeks) == 4  # 7 dailies span 2 ISO weeks; weeklies add the 2 before them
        assert kept == sorted(kept, reverse=True)

    def test_newest_survives_zero_retention(self):
        backups = nightly(3)
        assert select_retained(backups, lambda b: b, 0, 0) == [T0]

    def test_gaps_do_not_use_up_the_allowance(self):
        backups = [T0, T0 - timedelta(days=30), T0 - timedelta(days=31)]
        assert select_retained(backups, lambda b: b, 2, 0) == [T0, T0 - timedelta(days=30)]

    def test_negative_counts_are_rejected(self):
        with pytest.raises(ValueError, match=">= 0"):
            select_retained([T0], lambda b: b, -1, 0)

    @given(
        st.lists(
            st.integers(min_value=0, max_value=24 * 400), min_size=1, max_size=60, unique=True
        ),
        st.integers(0, 10),
        st.integers(0, 10),
    )
    def test_bounds(self, hours_ago: list[int], daily: int, weekly: int):
        backups = [T0 - timedelta(hours=h) for h in hours_ago]
        kept = select_retained(backups, lambda b: b, daily, weekly)
        assert max(backups) in kept
        assert len(kept) <= max(1, daily + weekly + 1)
        assert set(kept) <= set(backups)
        assert len(set(kept)) == len(kept)


def _manifest(tmp_path: Path) -> Manifest:
    (tmp_path / "database.dump").write_bytes(b"PGDMP" + b"\0" * 100)
    return Manifest(
        name="x", created_at=T0, database="db", server_version="16", pg_dump_version="16",
        schema_revision=None, compression_level=6,
        files=[file_entry(tmp_path, "database.dump")], stats=DatabaseStats(),
    )  # fmt: skip


class TestManifestChecksums:
    def test_intact_files_pass(self, tmp_path: Path):
        check_files(tmp_path, _manifest(tmp_path))

    def test_altered_byte_is_detected(self, tmp_path: Path):
        manifest = _manifest(tmp_path)
        (tmp_path / "database.dump").write_bytes(b"PGDMP" + b"\0" * 99 + b"\1")
        with pytest.raises(ChecksumMismatch, match="sha256"):
            check_files(tmp_path, manifest)

    def test_truncation_is_detected(self, tmp_path: Path):
        manifest = _manifest(tmp_path)
        (tmp_path / "database.dump").write_bytes(b"PGDMP")
        with pytest.raises(ChecksumMismatch, match="size 5 != 105"):
            check_files(tmp_path, manifest)

    def test_paths_cannot_escape_the_backup(self, tmp_path: Path):
        manifest = _manifest(tmp_path).model_copy(
            update={"files": [_manifest(tmp_path).files[0].model_copy(update={"path": "../x"})]}
        )
        with pytest.raises(ChecksumMismatch, match="plain file names"):
            check_files(tmp_path, manifest)


class TestDatabaseUrl:
    def test_password_kept_out_of_argv(self):
        url = DatabaseUrl.parse("postgresql+asyncpg://app:p%40ss@db:5432/helpline?sslmode=require")
        assert url.public_url == "postgresql://app@db:5432/helpline?sslmode=require"
        assert url.password == "p@ss"
        assert url.client_env()["PGPASSWORD"] == "p@ss"
        assert (
            url.with_database("other").public_url
            == "postgresql://app@db:5432/other?sslmode=require"
        )

    def test_rejects_other_schemes_and_odd_names(self):
        with pytest.raises(BackupError):
            DatabaseUrl.parse("mysql://db/x")
        with pytest.raises(BackupError):
            check_database_name('x"; DROP DATABASE y; --')

    def test_compare_stats_reports_every_kind_of_difference(self):
        from helpline.backup.manifest import TableStats

        source = DatabaseStats(
            tables={
                "public.a": TableStats(rows=2, checksum="9"),
                "public.b": TableStats(rows=1, checksum="1"),
            },
            sequences={"public.s": 5},
        )
        restored = DatabaseStats(
            tables={
                "public.a": TableStats(rows=2, checksum="8"),
                "public.c": TableStats(rows=0, checksum="0"),
            },
            sequences={"public.s": 4},
        )
        assert compare_stats(source, restored) == [
            "table public.a: content checksum differs",
            "table public.b: missing from restore",
            "table public.c: present in restore, absent from source",
            "sequence public.s: 4 restored, 5 in source",
        ]
        assert compare_stats(source, source) == []
