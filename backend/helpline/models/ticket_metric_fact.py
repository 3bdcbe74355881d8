"""Immutable per-ticket metric facts: what reports count, written once when it happened.

See docs/reports.md. The worker's reports consumer writes them from the change feed (and
`helpline reports backfill` from history); a fact is never updated, so a report over a closed
period gives the same figures tomorrow, whatever policies or calendars change meanwhile.
"""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, in_check

FACT_KINDS = ("created", "first_response", "solved", "reopened")


class TicketMetricFact(Base):
    """One thing that happened to a ticket that a report counts (insert-only)."""

    __tablename__ = "ticket_metric_facts"
    __table_args__ = (
        CheckConstraint(in_check("kind", FACT_KINDS), name="kind"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        Index("uq_ticket_metric_facts_ticket_kind_seq", "ticket_id", "kind", "seq", unique=True),
        Index("ix_ticket_metric_facts_kind_occurred_at", "kind", "occurred_at"),
        {"comment": "Immutable per-ticket metric facts (reports); written once, never updated."},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    # No foreign key: a purged (hard-deleted) ticket's facts stay until the rollups have taken
    # its contributions away with them (report.maintenance); reports join live tickets.
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        comment="The ticket (no foreign key: kept after a purge until the rollups withdraw it).",
    )
    kind: Mapped[str] = mapped_column(Text, comment="created | first_response | solved | reopened.")
    seq: Mapped[int] = mapped_column(
        Integer, comment="1 for created and first_response; the nth solve or reopen."
    )
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), comment="When it happened (the history or message time)."
    )
    calendar_seconds: Mapped[int | None] = mapped_column(
        BigInteger,
        comment="Wall seconds: creation → response/solve; the solve → the reopen for reopens.",
    )
    business_seconds: Mapped[int | None] = mapped_column(
        BigInteger,
        comment="The same span in business seconds of the calendar of the ticket's SLA policy "
        "at the time; null when no policy with a calendar applied.",
    )
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), comment="Who responded or solved (null: a rule or the system)."
    )
    channel: Mapped[str | None] = mapped_column(
        Text, comment="For created: email (came through a mailbox) or api (REST, GraphQL, console)."
    )
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), comment="When the fact was written."
    )


class MetricFeedPosition(Base):
    """Where the reports consumer is in the change feed (one row, locked by the worker)."""

    __tablename__ = "metric_feed_positions"
    __table_args__ = ({"comment": "Change-feed position of the reports (metric facts) consumer."},)

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    xid: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    event_id: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
