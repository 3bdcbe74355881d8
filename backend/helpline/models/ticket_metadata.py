import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base

METADATA_KEY_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
METADATA_VALUE_MAX_BYTES = 4096
METADATA_MAX_KEYS = 100


class TicketMetadata(Base):
    """A key/value pair attached to a ticket (integrations' custom fields)."""

    __tablename__ = "ticket_metadata"
    __table_args__ = (
        UniqueConstraint("ticket_id", "key"),
        CheckConstraint(f"key ~ '{METADATA_KEY_PATTERN}'", name="key_format"),
        CheckConstraint(
            f"octet_length(value::text) <= {METADATA_VALUE_MAX_BYTES}", name="value_size"
        ),
        Index("ix_ticket_metadata_key_value", "key", "value"),
        {"comment": "Ticket key/value metadata; at most 100 keys per ticket."},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tickets.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(Text, comment="Lower-case key, ^[a-z0-9][a-z0-9_.-]{0,63}$.")
    value: Mapped[Any] = mapped_column(JSONB, comment="Any JSON value, at most 4 KiB serialized.")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
