import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Identity, Index, Text, Uuid, func
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, in_check

INVALIDATION_KINDS = ("ticket", "principals")


class CacheInvalidation(Base):
    """A cache invalidation that its process could not send to Redis: kept for a while so that
    every process — of every Redis namespace on this database — delivers it to its own Redis."""

    __tablename__ = "cache_invalidations"
    __table_args__ = (
        CheckConstraint(in_check("kind", INVALIDATION_KINDS), name="kind"),
        CheckConstraint("(kind = 'ticket') = (ticket_id IS NOT NULL)", name="ticket_kind"),
        Index("ix_cache_invalidations_created_at", "created_at"),
        {"comment": "Recent cache invalidations some process could not send to Redis."},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(
        Text,
        server_default="ticket",
        comment="ticket: a changed ticket; principals: a credential or its owner changed.",
    )
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, comment="The changed ticket.")
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, comment="Its customer, whose list caches change too."
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
