from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Identity, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base


class AuditSeal(Base):
    """A tamper-evidence checkpoint: per-hour digests of audit_log rows, chained seal to seal."""

    __tablename__ = "audit_seals"
    __table_args__ = (
        CheckConstraint("range_start < range_end", name="range_ordered"),
        CheckConstraint("chain ~ '^[0-9a-f]{64}$'", name="chain_hex"),
        {"comment": "Hash-chained digests of sealed audit_log hours (see ADR 0001)."},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    range_start: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), comment="First sealed hour (inclusive)."
    )
    range_end: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), comment="End of the last sealed hour (exclusive)."
    )
    row_count: Mapped[int] = mapped_column(BigInteger, comment="Rows covered by the seal.")
    buckets: Mapped[dict[str, Any]] = mapped_column(
        JSONB, comment='Non-empty hours: {"<hour ISO>": [row count, hex SHA-256]}.'
    )
    digest: Mapped[str] = mapped_column(Text, comment="SHA-256 of range and buckets.")
    prev_chain: Mapped[str | None] = mapped_column(Text, comment="Chain value of the prior seal.")
    chain: Mapped[str] = mapped_column(Text, comment="SHA-256(prev_chain + digest).")
    sealed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
