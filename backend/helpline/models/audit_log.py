import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    PrimaryKeyConstraint,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import INET, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, in_check
from helpline.models.enums import ActorType, AuditOutcome, values

AUDIT_PARTITION_PREFIX = "audit_log_p"


class AuditLog(Base):
    """Append-only audit trail, range-partitioned by month on occurred_at."""

    __tablename__ = "audit_log"
    __table_args__ = (
        PrimaryKeyConstraint("id", "occurred_at"),
        CheckConstraint(in_check("actor_type", values(ActorType)), name="actor_type"),
        CheckConstraint(in_check("outcome", values(AuditOutcome)), name="outcome"),
        # Serves the newest-first keyset order of GET /audit-events without a filter.
        Index("ix_audit_log_occurred_at_id", "occurred_at", "id"),
        Index("ix_audit_log_entity", "entity_type", "entity_id", "occurred_at"),
        Index("ix_audit_log_actor", "actor_id", "occurred_at"),
        Index("ix_audit_log_action", "action", "occurred_at"),
        Index("ix_audit_log_request_id", "request_id"),
        {
            "postgresql_partition_by": "RANGE (occurred_at)",
            "comment": "Audit events (data changes, auth, system); partitioned by month.",
        },
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True))
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    actor_type: Mapped[str] = mapped_column(Text, comment="user | api_key | system | anonymous.")
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    action: Mapped[str] = mapped_column(Text, comment="Dotted action, e.g. ticket.updated.")
    entity_type: Mapped[str | None] = mapped_column(Text)
    entity_id: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(INET)
    changes: Mapped[Any | None] = mapped_column(JSONB, comment="What changed; never secrets.")
    outcome: Mapped[str] = mapped_column(
        Text, server_default="success", comment="success | failure | denied."
    )
