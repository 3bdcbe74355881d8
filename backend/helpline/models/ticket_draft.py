import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base

DRAFT_MAX_CHARS = 100_000  # as a message


class TicketDraft(Base):
    """What one user has typed, unsent, in a ticket's composer (autosaved, one per pair)."""

    __tablename__ = "ticket_drafts"
    __table_args__ = (
        CheckConstraint(f"char_length(body) <= {DRAFT_MAX_CHARS}", name="body_size"),
        Index("ix_ticket_drafts_ticket_id", "ticket_id"),
        {"comment": "Unsent replies and notes, per user and ticket (the composer's autosave)."},
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        comment="Whose draft.",
    )
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("tickets.id", ondelete="CASCADE"),
        primary_key=True,
        comment="The ticket it answers.",
    )
    body: Mapped[str] = mapped_column(Text, nullable=False, comment="The text typed so far.")
    is_internal: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default="false", comment="Meant as an internal note."
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
