import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, in_check, uuid_pk
from helpline.models.enums import MessageChannel, SenderType, values


class Conversation(Base):
    """One message of a ticket's conversation (public reply or internal note)."""

    __tablename__ = "conversations"
    __table_args__ = (
        CheckConstraint("char_length(message) BETWEEN 1 AND 100000", name="message_length"),
        CheckConstraint(in_check("sender_type", values(SenderType)), name="sender_type"),
        CheckConstraint("jsonb_typeof(attachments) = 'array'", name="attachments_array"),
        CheckConstraint(in_check("channel", values(MessageChannel)), name="channel"),
        Index("ix_conversations_ticket_id_timestamp_id", "ticket_id", "timestamp", "id"),
        # Full-text search over messages (migration 0021): the query repeats this expression.
        Index(
            "ix_conversations_message_search",
            text("to_tsvector('english'::regconfig, message)"),
            postgresql_using="gin",
        ),
        {"comment": "Messages of ticket conversations; internal notes are hidden from customers."},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tickets.id", ondelete="CASCADE")
    )
    message: Mapped[str] = mapped_column(Text, comment="Message text, 1-100,000 characters.")
    sender_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id"), comment="Author; null for system messages."
    )
    sender_type: Mapped[str] = mapped_column(Text, comment="customer | agent | system.")
    is_internal: Mapped[bool] = mapped_column(
        Boolean, server_default=text("false"), comment="Internal note, never shown to customers."
    )
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    channel: Mapped[str] = mapped_column(
        Text, server_default="api", comment="How the message arrived: web | api | email."
    )
    attachments: Mapped[list[Any]] = mapped_column(
        JSONB,
        server_default=text("'[]'::jsonb"),
        comment="Descriptors of bound attachments: id, filename, content_type, size, sha256.",
    )
