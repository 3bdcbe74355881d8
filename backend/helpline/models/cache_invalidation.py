import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Identity, Uuid, func
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base


class CacheInvalidation(Base):
    """A ticket cache invalidation that its process could not deliver to Redis (kept until a
    process that can reach Redis delivers it; usually empty)."""

    __tablename__ = "cache_invalidations"
    __table_args__ = {"comment": "Undelivered ticket cache invalidations (an outbox)."}

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(Uuid, comment="The changed ticket.")
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, comment="Its customer, whose list caches change too."
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
