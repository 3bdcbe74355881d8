import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Text, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, uuid_pk


class Attachment(Base):
    """An uploaded file; the bytes live in a storage backend, never in the database."""

    __tablename__ = "attachments"
    __table_args__ = (
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint("char_length(filename) BETWEEN 1 AND 255", name="filename_length"),
        Index("ix_attachments_conversation_id", "conversation_id"),
        Index("ix_attachments_sha256", "sha256"),
        Index(
            "ix_attachments_unbound_created",
            "created_at",
            postgresql_where=text("conversation_id IS NULL"),
        ),
        {"comment": "Attachment descriptors; bytes are content-addressed in storage."},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    sha256: Mapped[str] = mapped_column(Text, comment="Hex SHA-256 of the content.")
    filename: Mapped[str] = mapped_column(Text, comment="Sanitized original file name.")
    content_type: Mapped[str] = mapped_column(Text, comment="Type detected from the bytes.")
    size: Mapped[int] = mapped_column(BigInteger, comment="Size in bytes.")
    storage_key: Mapped[str] = mapped_column(
        Text, comment="Key of the blob in the storage backend."
    )
    uploaded_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("conversations.id", ondelete="SET NULL"),
        comment="Message the file is bound to; null until bound (unbound ones are collected).",
    )
