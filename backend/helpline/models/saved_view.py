import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, created_at_column, uuid_pk

VIEW_NAME_MAX_CHARS = 100
VIEW_QUERY_MAX_BYTES = 4096  # the serialized query; a view's filters fit many times over


class SavedView(Base):
    """An agent's named inbox filter (filters, search and sort), private to its owner."""

    __tablename__ = "saved_views"
    __table_args__ = (
        CheckConstraint(
            f"char_length(name) BETWEEN 1 AND {VIEW_NAME_MAX_CHARS}", name="name_length"
        ),
        CheckConstraint(
            f"jsonb_typeof(query) = 'object' AND octet_length(query::text) <= "
            f"{VIEW_QUERY_MAX_BYTES}",
            name="query_object",
        ),
        CheckConstraint("position >= 0", name="position_not_negative"),
        Index("uq_saved_views_user_id_name", "user_id", text("lower(name)"), unique=True),
        Index(
            "uq_saved_views_user_id_default",
            "user_id",
            unique=True,
            postgresql_where=text("is_default"),
        ),
        {"comment": "Saved inbox views: an agent's named ticket-list filters (private)."},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        comment="Whose view (only they see it).",
    )
    name: Mapped[str] = mapped_column(
        Text, nullable=False, comment="Unique per user case-insensitively, 1-100 chars."
    )
    query: Mapped[Any] = mapped_column(
        JSONB,
        nullable=False,
        server_default=text("'{}'::jsonb"),
        comment="The ticket list's filters and sort, by their query parameter names.",
    )
    position: Mapped[int] = mapped_column(
        Integer, nullable=False, server_default="0", comment="Order in the menu (ascending)."
    )
    is_default: Mapped[bool] = mapped_column(
        Boolean,
        nullable=False,
        server_default="false",
        comment="Opens when the inbox is loaded without filters (at most one per user).",
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), comment="Last change."
    )
