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
    Integer,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, in_check
from helpline.models.enums import ChangeType, values


class TicketHistory(Base):
    """One field-level change of a ticket; written by database triggers only."""

    __tablename__ = "ticket_history"
    __table_args__ = (
        CheckConstraint(in_check("change_type", values(ChangeType)), name="change_type"),
        Index("ix_ticket_history_ticket_id_id", "ticket_id", "id"),
        {"comment": "Per-ticket change history, one row per changed field, written by triggers."},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tickets.id", ondelete="CASCADE")
    )
    change_type: Mapped[str] = mapped_column(Text, comment="What changed (see ChangeType).")
    changed_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), comment="Acting user id; null for system changes."
    )
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    old_value: Mapped[Any | None] = mapped_column(JSONB, comment="Value before the change.")
    new_value: Mapped[Any | None] = mapped_column(JSONB, comment="Value after the change.")
    change_set_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), comment="Groups the rows written by one transaction."
    )
    request_id: Mapped[str | None] = mapped_column(Text, comment="Request that made the change.")
    version: Mapped[int | None] = mapped_column(
        Integer,
        comment="Ticket version a field change produced (NULL: other kinds, older rows).",
    )
