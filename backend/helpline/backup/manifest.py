"""The manifest written beside every dump: what was dumped, from where, and its checksums."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from helpline.backup.errors import BackupNotFound, ChecksumMismatch

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT: Final = "helpline-backup/1"
_CHUNK = 1 << 20


class FileEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str = Field(description="File name relative to the backup directory.")
    size: int = Field(ge=0, description="Size in bytes.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Hex SHA-256 of the content.")


class TableStats(BaseModel):
    model_config = ConfigDict(frozen=True)

    rows: int = Field(ge=0)
    checksum: str = Field(
        description="Order-independent sum of per-row md5 prefixes; equal content gives equal sums."
    )


class DatabaseStats(BaseModel):
    model_config = ConfigDict(frozen=True)

    tables: dict[str, TableStats] = Field(default_factory=dict)
    sequences: dict[str, int | None] = Field(default_factory=dict)


class Manifest(BaseModel):
    """Everything needed to check a backup before trusting it."""

    model_config = ConfigDict(frozen=True)

    format: Literal["helpline-backup/1"] = MANIFEST_FORMAT
    name: str
    created_at: datetime
    database: str
    server_version: str
    pg_dump_version: str
    schema_revision: str | None = Field(
        description="Alembic revision(s) of the dumped database; null without alembic_version."
    )
    compression_level: int = Field(ge=0, le=9)
    encrypted: Literal[False] = Field(
        False, description="Always false: encryption is left to the storage layer (see runbook)."
    )
    files: list[FileEntry]
    stats: DatabaseStats = Field(
        description="Per-table row counts and checksums taken in the dump's own snapshot."
    )

    @property
    def dump_file(self) -> FileEntry:
        return self.files[0]


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_entry(directory: Path, name: str) -> FileEntry:
    path = directory / name
    return FileEntry(path=name, size=path.stat().st_size, sha256=sha256_file(path))


def write_manifest(directory: Path, manifest: Manifest) -> Path:
    path = directory / MANIFEST_NAME
    path.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def read_manifest(directory: Path) -> Manifest:
    """Load and validate ``manifest.json`` of a backup directory."""
    path = directory / MANIFEST_NAME
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise BackupNotFound(f"{directory}: no {MANIFEST_NAME} (not a backup)") from None
    except ValidationError as exc:
        raise BackupNotFound(f"{path}: invalid manifest ({exc.error_count()} errors)") from None


def check_files(directory: Path, manifest: Manifest) -> None:
    """Raise ChecksumMismatch unless every file still has the recorded size and SHA-256."""
    for entry in manifest.files:
        path = directory / entry.path
        if Path(entry.path).name != entry.path:
            raise ChecksumMismatch(f"{entry.path}: manifest paths must be plain file names")
        if not path.is_file():
            raise ChecksumMismatch(f"{path}: missing")
        size = path.stat().st_size
        if size != entry.size:
            raise ChecksumMismatch(f"{path}: size {size} != {entry.size} recorded")
        actual = sha256_file(path)
        if actual != entry.sha256:
            raise ChecksumMismatch(f"{path}: sha256 {actual} != {entry.sha256} recorded")
