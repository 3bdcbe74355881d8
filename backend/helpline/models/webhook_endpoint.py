import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, Text, func
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, created_at_column, uuid_pk


class WebhookEndpoint(Base):
    """A receiver of signed event deliveries (Standard Webhooks), managed by admins."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint("url ~ '^https?://'", name="url_http"),
        {"comment": "Webhook endpoints: URL, event types, signing secrets, health."},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    url: Mapped[str] = mapped_column(Text, comment="Target URL (http or https).")
    description: Mapped[str] = mapped_column(Text, server_default="")
    event_types: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=sql("'{}'"), comment="Types delivered; empty = all."
    )
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=sql("true"))
    secret: Mapped[str] = mapped_column(Text, comment="Signing secret (whsec_...); never returned.")
    previous_secret: Mapped[str | None] = mapped_column(
        Text, comment="The secret before the last rotation, also signed with until it expires."
    )
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(Text, comment="Why it was disabled.")
    consecutive_failures: Mapped[int] = mapped_column(Integer, server_default=sql("0"))
    failing_since: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="First failure of the current failure streak."
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
