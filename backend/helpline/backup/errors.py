"""Typed failures of the backup commands; each message is one line meant for an operator."""

from __future__ import annotations


class BackupError(Exception):
    """Base class: a backup operation could not be completed."""


class DatabaseUrlMissing(BackupError):
    """No database URL was configured."""


class ToolFailed(BackupError):
    """A PostgreSQL client tool (pg_dump, pg_restore) is missing or exited non-zero."""


class BackupNotFound(BackupError):
    """The named backup does not exist or has no readable manifest."""


class ChecksumMismatch(BackupError):
    """A backup file is missing, truncated or altered since its manifest was written."""


class TargetNotEmpty(BackupError):
    """The restore target already holds data and ``--force`` was not given."""


class VerificationFailed(BackupError):
    """A restored copy differs from what the manifest recorded about the source."""


class BackupTooOld(BackupError):
    """The newest backup is older than the allowed age (a missed or failing schedule)."""
