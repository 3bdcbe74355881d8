from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, Identity, Index, Text, func
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, in_check


class EventType(StrEnum):
    ticket_created = "ticket.created"
    ticket_updated = "ticket.updated"
    ticket_deleted = "ticket.deleted"
    message_created = "message.created"
    metadata_changed = "metadata.changed"
    attachment_added = "attachment.added"
    message_delivery = "message.delivery"
    sla_warning = "sla.warning"
    sla_breached = "sla.breached"


EVENT_TYPES = tuple(t.value for t in EventType)

# The writing transaction's id (xid8 as bigint): the feed shows an event only once no
# transaction of this database with a smaller id can still add one (helpline_feed_horizon(),
# ADR 0012), so positions never become visible out of order.
CURRENT_XID = "(pg_current_xact_id()::text)::bigint"


class Event(Base):
    """One committed change of a ticket (the change feed); written by database triggers only."""

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint(in_check("type", EVENT_TYPES), name="type"),
        Index("ix_events_xid_id", "xid", "id"),
        Index("ix_events_occurred_at", "occurred_at", postgresql_using="brin"),
        {"comment": "Change feed: one row per committed ticket change, in (xid, id) order."},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    xid: Mapped[int] = mapped_column(
        BigInteger,
        server_default=sql(CURRENT_XID),
        comment="Writing transaction id (xid8); with id the feed position.",
    )
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    type: Mapped[str] = mapped_column(Text, comment="ticket.created, message.created, ...")
    ticket_id: Mapped[Any] = mapped_column(UUID(as_uuid=True), comment="The ticket it concerns.")
    internal: Mapped[bool] = mapped_column(
        Boolean, server_default=sql("false"), comment="About an internal note (staff only)."
    )
    actor_id: Mapped[Any | None] = mapped_column(
        UUID(as_uuid=True), comment="Acting user; null for system changes."
    )
    request_id: Mapped[str | None] = mapped_column(Text, comment="Request that made the change.")
    data: Mapped[Any] = mapped_column(JSONB, comment="What changed (shape per type).")
