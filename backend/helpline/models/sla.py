"""Service levels: calendars, ordered policies, per-ticket clocks and the worker's bookkeeping.

See docs/adr/0013-sla-clocks.md. Calendars and policies are admin objects (audited by trigger);
clocks are derived by the worker from each ticket's history and never edited by hand.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, created_at_column, in_check, uuid_pk

CLOCK_KINDS = ("first_response", "next_response", "resolution")
RECOMPUTE_STATES = ("queued", "running", "done", "failed")


def _updated_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class SlaCalendar(Base):
    """Business hours in an IANA time zone, with holidays."""

    __tablename__ = "sla_calendars"
    __table_args__ = (
        CheckConstraint("char_length(name) BETWEEN 1 AND 200", name="name_length"),
        Index("uq_sla_calendars_name", "name", unique=True),
        {"comment": "SLA calendars: IANA zone, weekly business intervals, holidays."},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(Text)
    time_zone: Mapped[str] = mapped_column(Text, comment="IANA zone, e.g. Europe/Berlin.")
    intervals: Mapped[list[Any]] = mapped_column(
        JSONB,
        comment='[{"weekday": 0-6, "start": "HH:MM", "end": "HH:MM"}]; end <= start: overnight.',
    )
    holidays: Mapped[list[Any]] = mapped_column(
        JSONB,
        server_default=text("'[]'::jsonb"),
        comment='[{"date": "YYYY-MM-DD"} | {"month": m, "day": d}] with an optional "name".',
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = _updated_at()


class SlaPolicy(Base):
    """Targets per priority; the first enabled policy (by position) that matches applies."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        CheckConstraint("char_length(name) BETWEEN 1 AND 200", name="name_length"),
        CheckConstraint("warning_percent BETWEEN 0 AND 99", name="warning_percent"),
        Index("uq_sla_policies_name", "name", unique=True),
        Index("ix_sla_policies_position", "position", "created_at"),
        {"comment": "Ordered SLA policies: conditions, targets per priority, pausing statuses."},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, comment="Lower first; the first match applies.")
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    conditions: Mapped[dict[str, Any]] = mapped_column(
        JSONB,
        server_default=text("'{}'::jsonb"),
        comment="priorities, customer_ids, mailbox_ids (lists), metadata (key: value); all hold.",
    )
    calendar_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("sla_calendars.id", ondelete="RESTRICT"),
        comment="Calendar of business-time targets (null: calendar time only).",
    )
    targets: Mapped[dict[str, Any]] = mapped_column(
        JSONB,
        comment='{"<priority>": {"<kind>": {"seconds": n, "business": bool}}}.',
    )
    pause_statuses: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{pending,on_hold}'::text[]")
    )
    warning_percent: Mapped[int] = mapped_column(
        Integer,
        server_default=text("80"),
        comment="sla.warning at this share of the target; 0: none.",
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = _updated_at()


class SlaClock(Base):
    """One clock of one ticket (derived from its history by the worker)."""

    __tablename__ = "sla_clocks"
    __table_args__ = (
        PrimaryKeyConstraint("ticket_id", "kind", "cycle", name="pk_sla_clocks"),
        CheckConstraint(in_check("kind", CLOCK_KINDS), name="kind"),
        # Only clocks with an alarm to come: the alarm job reads a range of this index.
        Index(
            "ix_sla_clocks_alarm",
            "next_alarm_at",
            postgresql_where=text("next_alarm_at IS NOT NULL"),
        ),
        # No index on due_at here: running deadlines are read through sla_ticket_states (the SLA
        # queue) and per ticket through the primary key; one would only tax every recompute.
        # Reports: fulfilled clocks of a kind over a period.
        Index(
            "ix_sla_clocks_kind_fulfilled",
            "kind",
            "fulfilled_at",
            postgresql_where=text("fulfilled_at IS NOT NULL"),
        ),
        {"comment": "Per-ticket SLA clocks, derived from history (ADR 0013)."},
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tickets.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(Text, comment="first_response | next_response | resolution.")
    cycle: Mapped[int] = mapped_column(Integer, comment="0; next_response: 1, 2, … per cycle.")
    policy_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    target_seconds: Mapped[int] = mapped_column(BigInteger)
    business: Mapped[bool] = mapped_column(Boolean, comment="Counted in business time.")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    running_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_seconds: Mapped[int] = mapped_column(
        BigInteger, comment="Time used up to running_since / paused_at, in the clock's own time."
    )
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    warn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fulfilled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stopped_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="Ended without fulfilment (ticket solved unanswered)."
    )
    breached_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_alarm_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="When the alarm job must look next; null: never."
    )
    warned_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="sla.warning emitted (once)."
    )
    breach_noticed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="sla.breached emitted (once)."
    )
    updated_at: Mapped[datetime] = _updated_at()


class SlaTicketState(Base):
    """A ticket's SLA summary: its policy and earliest open deadline (the inbox sorts by it)."""

    __tablename__ = "sla_ticket_states"
    __table_args__ = (
        Index("ix_sla_ticket_states_due", "due_at", "ticket_id"),
        {"comment": "Per-ticket SLA summary maintained with its clocks."},
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    policy_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    due_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="Earliest deadline of a running clock."
    )
    breached: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'::text[]"), comment="Kinds breached so far."
    )
    updated_at: Mapped[datetime] = _updated_at()


class SlaInboxRest(Base):
    """A live ticket without a running deadline: the second half of the inbox's `sla_due` order.

    The first half is `sla_ticket_states` by its ``(due_at, ticket_id)`` index; this table holds
    the rest, so that they too are an index range, most recently updated first, instead of the
    default order's index with every ticket that has a deadline to skip. A new ticket gets its
    row from a trigger (``sla_inbox_rest_on_ticket``); the SLA worker, where it writes the
    summaries, removes the row of a ticket that has a deadline, and (re)writes the row of one
    that has none with the ``updated_at`` it sees (docs/service-levels.md)."""

    __tablename__ = "sla_inbox_rest"
    __table_args__ = (
        Index("ix_sla_inbox_rest_recent", text("ticket_updated_at DESC"), text("ticket_id DESC")),
        {"comment": "Live tickets without a running deadline, for the inbox's sort by SLA due."},
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    ticket_updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        comment="tickets.updated_at as the SLA worker last saw it (the order among these).",
    )
    updated_at: Mapped[datetime] = _updated_at()


class SlaFeedPosition(Base):
    """Where the worker's SLA consumer is in the change feed (one row)."""

    __tablename__ = "sla_feed_positions"
    __table_args__ = ({"comment": "Change-feed positions of the SLA consumer."},)

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    xid: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    event_id: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    updated_at: Mapped[datetime] = _updated_at()


class SlaRecompute(Base):
    """One recomputation of open tickets' clocks after a policy or calendar change."""

    __tablename__ = "sla_recomputes"
    __table_args__ = (
        CheckConstraint(in_check("state", RECOMPUTE_STATES), name="state"),
        {"comment": "Recompute runs (batched job) and their progress."},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default="queued")
    total: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    done: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    last_ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), comment="Keyset position: the job resumes after it."
    )
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
