from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Identity, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base


class AuditArchive(Base):
    """A rotated audit_log partition: exported to a compressed file, then dropped."""

    __tablename__ = "audit_archives"
    __table_args__ = (
        UniqueConstraint("partition_name"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        CheckConstraint("range_start < range_end", name="range_ordered"),
        {"comment": "Audit partitions exported by `helpline audit rotate`, with their SHA-256."},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    partition_name: Mapped[str] = mapped_column(Text, comment="e.g. audit_log_p202501.")
    range_start: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), comment="Inclusive lower bound of occurred_at."
    )
    range_end: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), comment="Exclusive upper bound of occurred_at."
    )
    row_count: Mapped[int] = mapped_column(BigInteger, comment="Rows in the archive.")
    file_path: Mapped[str] = mapped_column(Text, comment="Archive file (gzip JSON Lines).")
    sha256: Mapped[str] = mapped_column(Text, comment="Hex SHA-256 of the archive file.")
    size_bytes: Mapped[int] = mapped_column(BigInteger, comment="Size of the archive file.")
    archived_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
