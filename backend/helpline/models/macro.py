import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, created_at_column, uuid_pk


class Macro(Base):
    """A canned reply (sandboxed template) plus actions; personal (owner) or shared (no owner)."""

    __tablename__ = "macros"
    __table_args__ = (
        CheckConstraint("char_length(name) BETWEEN 1 AND 100", name="name_length"),
        CheckConstraint("char_length(body) <= 20000", name="body_length"),
        Index("ix_macros_owner_name", "owner_id", text("lower(name)")),
        {"comment": "Macros: templated reply + actions (ADR 0014)."},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(Text, comment="Shown in the picker, 1-100 chars.")
    body: Mapped[str] = mapped_column(Text, server_default="", comment="Reply template.")
    actions: Mapped[Any] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb"), comment="Actions applied with the reply."
    )
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("users.id", ondelete="CASCADE"),
        comment="Owner of a personal macro; null: shared.",
    )
    usage_count: Mapped[int] = mapped_column(Integer, server_default="0", comment="Times applied.")
    last_used_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="Last application."
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), comment="Last change."
    )
