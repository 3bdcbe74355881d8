import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, in_check, uuid_pk

INBOUND_SOURCES = ("http", "imap", "cli")
INBOUND_STATUSES = ("received", "processed", "quarantined", "discarded")
THREAD_REASONS = ("reply_token", "references", "subject", "new_ticket", "bounce")


class InboundEmail(Base):
    """One message received by a mailbox, kept raw before anything acknowledges it."""

    __tablename__ = "inbound_emails"
    __table_args__ = (
        CheckConstraint(in_check("source", INBOUND_SOURCES), name="source"),
        CheckConstraint(in_check("status", INBOUND_STATUSES), name="status"),
        CheckConstraint(
            f"thread_reason IS NULL OR {in_check('thread_reason', THREAD_REASONS)}",
            name="thread_reason",
        ),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        CheckConstraint("raw IS NOT NULL OR raw_purged_at IS NOT NULL", name="raw_kept_or_purged"),
        UniqueConstraint("mailbox_id", "dedupe_key", name="uq_inbound_emails_mailbox_dedupe"),
        Index("ix_inbound_emails_status_id", "status", "id"),
        Index("ix_inbound_emails_message_id", "message_id"),
        Index("ix_inbound_emails_sender_received", "sender", "received_at"),
        Index("ix_inbound_emails_ticket_id", "ticket_id"),
        Index(
            "ix_inbound_emails_raw_kept_received",
            "received_at",
            postgresql_where=text("raw_purged_at IS NULL"),
        ),
        {"comment": "Raw inbound mail, one row per message per mailbox (any path)."},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    mailbox_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("mailboxes.id", ondelete="CASCADE")
    )
    raw: Mapped[bytes | None] = mapped_column(
        LargeBinary,
        comment="The message as received (RFC 5322); null once the retention job purged it.",
    )
    raw_purged_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True),
        comment="When the retention job dropped the raw bytes (the row stays for dedup).",
    )
    size: Mapped[int] = mapped_column(Integer, comment="Size of raw in bytes.")
    sha256: Mapped[str] = mapped_column(Text, comment="Hex SHA-256 of raw.")
    message_id: Mapped[str | None] = mapped_column(Text, comment="Message-ID without <>.")
    dedupe_key: Mapped[str] = mapped_column(
        Text, comment="message_id, or sha256:<hex> without one: the same message is one row."
    )
    source: Mapped[str] = mapped_column(Text, comment="http | imap | cli (the first path).")
    imap_uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    imap_uid: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(
        Text, server_default="received", comment="received|processed|quarantined|discarded."
    )
    reason: Mapped[str | None] = mapped_column(Text, comment="Why it was quarantined/discarded.")
    sender: Mapped[str | None] = mapped_column(Text, comment="From address (lower-case).")
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tickets.id", ondelete="SET NULL")
    )
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("conversations.id", ondelete="SET NULL")
    )
    thread_reason: Mapped[str | None] = mapped_column(
        Text, comment="reply_token|references|subject|new_ticket|bounce."
    )
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
