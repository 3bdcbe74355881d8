"""Backup round trip on a real PostgreSQL: create -> restore -> verify, through the real CLI.

Self-contained: makes its own databases (random names) on the server named by
HELPLINE_TEST_POSTGRES_URL (default: the local trust-auth server) and drops them afterwards.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("pg_dump") is None, reason="PostgreSQL client tools missing"),
]

REPO = Path(__file__).resolve().parents[2]
ADMIN_URL = os.environ.get(
    "HELPLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

SOURCE_SCHEMA = """
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
INSERT INTO alembic_version VALUES ('2026_11_25_0001');
CREATE TABLE tickets (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title text NOT NULL,
    meta jsonb,
    created_at timestamptz NOT NULL DEFAULT '2026-01-01T00:00:00Z'
);
INSERT INTO tickets (title, meta)
    SELECT 'ticket ' || g, jsonb_build_object('n', g, 'q', 'quote''s "x"')
    FROM generate_series(1, 250) g;
CREATE SCHEMA audit;
CREATE TABLE audit.log (occurred_at timestamptz NOT NULL, action text)
    PARTITION BY RANGE (occurred_at);
CREATE TABLE audit.log_2026_01 PARTITION OF audit.log
    FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
INSERT INTO audit.log VALUES ('2026-01-05', 'ticket.created'), ('2026-01-06', 'ticket.updated');
CREATE TABLE "Empty ""quoted"" table" (x int);
"""


def _url(database: str) -> str:
    parts = urlsplit(ADMIN_URL)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))


def psql(database: str, sql: str) -> str:
    result = subprocess.run(
        ["psql", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-qAt", "-d", _url(database), "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def backup_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`helpline backup …` exactly as an operator runs it (module form until main registers it)."""
    result = subprocess.run(
        [sys.executable, "-m", "helpline.cli.backup", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if check and result.returncode != 0:
        pytest.fail(f"backup {' '.join(args)} failed: {result.stderr}{result.stdout}")
    return result


@pytest.fixture
def databases() -> Iterator[list[str]]:
    """Names registered here are dropped after the test, whatever happened."""
    names: list[str] = []
    yield names
    for name in names:
        psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def source_db(databases: list[str]) -> str:
    name = f"hl_bk_src_{secrets.token_hex(4)}"
    psql("postgres", f'CREATE DATABASE "{name}"')
    databases.append(name)
    psql(name, SOURCE_SCHEMA)
    return name


def _scratch_name(output: str) -> str:
    match = re.search(r"scratch database (helpline_verify_[0-9a-f]+)", output)
    assert match, output
    return match.group(1)


def _exists(database: str) -> bool:
    return psql("postgres", f"SELECT count(*) FROM pg_database WHERE datname = '{database}'") == "1"


class TestBackupRoundTrip:
    def test_create_restore_verify(self, source_db: str, databases: list[str], tmp_path: Path):
        created = backup_cli(
            "create", "--database-url", _url(source_db), "--backup-dir", str(tmp_path)
        )
        backup = Path(created.stdout.strip())
        assert backup.parent == tmp_path
        manifest = json.loads((backup / "manifest.json").read_text())
        assert manifest["schema_revision"] == "2026_11_25_0001"
        assert manifest["database"] == source_db
        dump = backup / manifest["files"][0]["path"]
        assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump custom format
        assert manifest["stats"]["tables"]["public.tickets"]["rows"] == 250
        assert manifest["stats"]["tables"]["audit.log_2026_01"]["rows"] == 2
        assert manifest["stats"]["sequences"]["public.tickets_id_seq"] == 250

        target = f"hl_bk_dst_{secrets.token_hex(4)}"
        databases.append(target)
        restored = backup_cli(
            "restore", backup.name, "--target-db", target,
            "--database-url", _url(source_db), "--backup-dir", str(tmp_path),
        )  # fmt: skip
        assert target in restored.stdout
        assert psql(target, "SELECT count(*), max(id) FROM tickets") == "250|250"
        assert psql(target, "SELECT meta->>'q' FROM tickets WHERE id = 7") == 'quote\'s "x"'
        assert psql(target, "SELECT count(*) FROM audit.log") == "2"
        # The identity sequence continues where the source stopped.
        assert psql(target, "INSERT INTO tickets (title) VALUES ('new') RETURNING id") == "251"

        verified = backup_cli(
            "verify", "latest", "--no-audit",
            "--database-url", _url(source_db), "--backup-dir", str(tmp_path),
        )  # fmt: skip
        assert f"verified {backup.name}: 4 tables, 253 rows match the source" in verified.stdout
        assert not _exists(_scratch_name(verified.stdout))  # the scratch copy is dropped

    def test_restore_refuses_non_empty_target_without_force(
        self, source_db: str, databases: list[str], tmp_path: Path
    ):
        backup_cli("create", "--database-url", _url(source_db), "--backup-dir", str(tmp_path))
        target = f"hl_bk_dst_{secrets.token_hex(4)}"
        databases.append(target)
        psql("postgres", f'CREATE DATABASE "{target}"')
        psql(target, "CREATE TABLE precious (v text); INSERT INTO precious VALUES ('keep me')")
        common = ["--database-url", _url(source_db), "--backup-dir", str(tmp_path)]

        refused = backup_cli("restore", "latest", "--target-db", target, *common, check=False)
        assert refused.returncode == 1
        assert f"database {target} is not empty" in refused.stderr
        assert psql(target, "SELECT v FROM precious") == "keep me"

        backup_cli("restore", "latest", "--target-db", target, "--force", *common)
        assert psql(target, "SELECT to_regclass('precious') IS NULL") == "t"
        assert psql(target, "SELECT count(*) FROM tickets") == "250"

    def test_restore_into_existing_empty_database(
        self, source_db: str, databases: list[str], tmp_path: Path
    ):
        backup_cli("create", "--database-url", _url(source_db), "--backup-dir", str(tmp_path))
        target = f"hl_bk_dst_{secrets.token_hex(4)}"
        databases.append(target)
        psql("postgres", f'CREATE DATABASE "{target}"')
        common = ["--database-url", _url(source_db), "--backup-dir", str(tmp_path)]
        backup_cli("restore", "latest", "--target-db", target, *common)
        assert psql(target, "SELECT count(*) FROM tickets") == "250"

    def test_tampered_dump_is_rejected_before_restoring(
        self, source_db: str, databases: list[str], tmp_path: Path
    ):
        out = backup_cli("create", "--database-url", _url(source_db), "--backup-dir", str(tmp_path))
        dump = Path(out.stdout.strip()) / "database.dump"
        data = bytearray(dump.read_bytes())
        data[-10] ^= 0xFF
        dump.write_bytes(bytes(data))
        target = f"hl_bk_dst_{secrets.token_hex(4)}"
        databases.append(target)

        result = backup_cli(
            "restore", "latest", "--target-db", target,
            "--database-url", _url(source_db), "--backup-dir", str(tmp_path), check=False,
        )  # fmt: skip
        assert result.returncode == 1
        assert "sha256" in result.stderr
        assert (
            psql("postgres", f"SELECT count(*) FROM pg_database WHERE datname = '{target}'") == "0"
        )

    def test_verify_reports_content_that_differs_from_the_source(
        self, source_db: str, tmp_path: Path
    ):
        out = backup_cli("create", "--database-url", _url(source_db), "--backup-dir", str(tmp_path))
        manifest_path = Path(out.stdout.strip()) / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        # Pretend the source had different content at dump time: the restored copy must not match.
        manifest["stats"]["tables"]["public.tickets"]["checksum"] = "1"
        manifest["stats"]["tables"]["audit.log_2026_01"]["rows"] = 3
        manifest_path.write_text(json.dumps(manifest))

        result = backup_cli(
            "verify", "latest", "--no-audit",
            "--database-url", _url(source_db), "--backup-dir", str(tmp_path), check=False,
        )  # fmt: skip
        assert result.returncode == 1
        assert "table public.tickets: content checksum differs" in result.stderr
        assert "table audit.log_2026_01: 2 rows restored, 3 in source" in result.stderr
        assert not _exists(_scratch_name(result.stderr))

    def test_verify_fails_on_stale_backup(self, source_db: str, tmp_path: Path):
        out = backup_cli("create", "--database-url", _url(source_db), "--backup-dir", str(tmp_path))
        manifest_path = Path(out.stdout.strip()) / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["created_at"] = "2020-01-01T00:00:00Z"
        manifest_path.write_text(json.dumps(manifest))
        result = backup_cli(
            "verify", "latest", "--no-audit", "--max-age-hours", "26",
            "--database-url", _url(source_db), "--backup-dir", str(tmp_path), check=False,
        )  # fmt: skip
        assert result.returncode == 1
        assert "h old (limit 26 h)" in result.stderr


class TestBackupScript:
    """scripts/backup is what the scheduler service and backup.yml run."""

    def test_run_then_check(self, source_db: str, tmp_path: Path):
        env = {
            **os.environ,
            "HELPLINE_BACKUP_CLI": f"{sys.executable} -m helpline.cli.backup",
            "HELPLINE_DATABASE_URL": _url(source_db),
            "HELPLINE_BACKUP_DIR": str(tmp_path),
            # The fixture schema is not Helpline's, so there is no audit log to verify.
            "HELPLINE_BACKUP_AUDIT_VERIFY": "0",
        }
        run = subprocess.run(
            [str(REPO / "scripts/backup"), "run"], env=env, capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
        backups = [p for p in tmp_path.iterdir() if p.is_dir()]
        assert len(backups) == 1
        assert "kept 1, deleted 0" in run.stdout

        check = subprocess.run(
            [str(REPO / "scripts/backup"), "check"], env=env, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stderr
        assert f"verified {backups[0].name}" in check.stdout

    def test_check_fails_without_backups(self, tmp_path: Path):
        env = {
            **os.environ,
            "HELPLINE_BACKUP_CLI": f"{sys.executable} -m helpline.cli.backup",
            "HELPLINE_DATABASE_URL": _url("postgres"),
            "HELPLINE_BACKUP_DIR": str(tmp_path),
        }
        check = subprocess.run(
            [str(REPO / "scripts/backup"), "check"], env=env, capture_output=True, text=True
        )
        assert check.returncode == 1
        assert "no backups in" in check.stderr
