import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base


class TicketReadMarker(Base):
    """How far one staff user has read a ticket: the version they last had open. The ticket is
    unread for them while its version is higher (or they never opened it: no row)."""

    __tablename__ = "ticket_reads"
    __table_args__ = (
        Index("ix_ticket_reads_ticket_id", "ticket_id"),
        {"comment": "Per staff user and ticket: the version last opened (unread markers)."},
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        comment="Who read it.",
    )
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("tickets.id", ondelete="CASCADE"),
        primary_key=True,
        comment="The ticket.",
    )
    seen_version: Mapped[int] = mapped_column(
        Integer, nullable=False, comment="The ticket version they last had open."
    )
    seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
