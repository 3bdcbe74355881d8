import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, uuid_pk


class ApiKey(Base):
    """An API key: only its HMAC and display prefix are stored, never the secret."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("char_length(name) BETWEEN 1 AND 100", name="name_length"),
        CheckConstraint(
            "rate_limit_per_minute IS NULL OR rate_limit_per_minute > 0", name="rate_limit_positive"
        ),
        CheckConstraint("octet_length(key_hash) = 32", name="key_hash_length"),
        Index("uq_api_keys_key_hash", "key_hash", unique=True),
        Index("ix_api_keys_user_id", "user_id"),
        Index("ix_api_keys_lineage_id", "lineage_id"),
        {"comment": "API keys: HMAC-SHA256 of the secret under a server pepper, scopes, limits."},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), comment="Owner."
    )
    name: Mapped[str] = mapped_column(Text, comment="Owner's label for the key.")
    prefix: Mapped[str] = mapped_column(Text, comment="First characters of the key, for display.")
    key_hash: Mapped[bytes] = mapped_column(LargeBinary, comment="HMAC-SHA256(pepper, key).")
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), comment="Granted scopes.")
    rate_limit_per_minute: Mapped[int | None] = mapped_column(
        Integer, comment="Per-key limit; null = the default from settings."
    )
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    lineage_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), comment="Shared by a key and all its rotations."
    )
    rotated_from_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("api_keys.id", ondelete="SET NULL"),
        comment="The key this one replaced.",
    )
