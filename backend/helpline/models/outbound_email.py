import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, in_check, uuid_pk

DELIVERY_STATUSES = ("queued", "sent", "failed", "bounced")
OUTBOUND_KINDS = ("reply", "auto_acknowledgement")


class OutboundEmail(Base):
    """The outbox: one mail to send, written in the transaction of what causes it."""

    __tablename__ = "outbound_emails"
    __table_args__ = (
        CheckConstraint(in_check("status", DELIVERY_STATUSES), name="status"),
        CheckConstraint(in_check("kind", OUTBOUND_KINDS), name="kind"),
        Index("uq_outbound_emails_message_id", "message_id", unique=True),
        Index("ix_outbound_emails_conversation_id", "conversation_id"),
        Index("ix_outbound_emails_ticket_id", "ticket_id"),
        Index(
            "ix_outbound_emails_queued",
            "next_attempt_at",
            postgresql_where=text("status = 'queued'"),
        ),
        {"comment": "Outgoing mail (outbox) and its delivery state."},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tickets.id", ondelete="CASCADE")
    )
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        comment="The message mailed; null for an auto-acknowledgement.",
    )
    mailbox_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("mailboxes.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(Text, comment="reply | auto_acknowledgement.")
    to_address: Mapped[str] = mapped_column(Text, comment="Recipient address.")
    message_id: Mapped[str] = mapped_column(
        Text, comment="Message-ID (without <>), fixed at creation: the same on every retry."
    )
    in_reply_to: Mapped[str | None] = mapped_column(Text, comment="Message-ID answered.")
    references: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'"), comment="The References chain, oldest first."
    )
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, comment="Plain-text body.")
    status: Mapped[str] = mapped_column(
        Text, server_default="queued", comment="queued | sent | failed | bounced."
    )
    error: Mapped[str | None] = mapped_column(Text, comment="Why it failed or bounced.")
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
