from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, PrimaryKeyConstraint, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base


class IdempotencyKey(Base):
    """A POST's Idempotency-Key and its first response, kept 24 hours."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        PrimaryKeyConstraint("principal", "key"),
        CheckConstraint("char_length(key) BETWEEN 1 AND 255", name="key_length"),
        Index("ix_idempotency_keys_created_at", "created_at"),
        {"comment": "Idempotency keys of POST requests and the responses to replay."},
    )

    key: Mapped[str] = mapped_column(Text)
    principal: Mapped[str] = mapped_column(Text, comment="Caller the key belongs to.")
    request_fingerprint: Mapped[str] = mapped_column(Text, comment="SHA-256 of method, path, body.")
    response_status: Mapped[int | None] = mapped_column(Integer, comment="Null while in flight.")
    response_body: Mapped[Any | None] = mapped_column(JSONB)
    response_headers: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
