import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, created_at_column, in_check, uuid_pk

EXECUTION_STATUSES = ("applied", "no_change", "skipped", "failed")


class Rule(Base):
    """An automation rule: conditions over a feed event and its ticket, and actions."""

    __tablename__ = "rules"
    __table_args__ = (
        CheckConstraint("char_length(name) BETWEEN 1 AND 100", name="name_length"),
        Index("uq_rules_name", text("lower(name)"), unique=True),
        Index("ix_rules_position", "position", "id"),
        {"comment": "Automation rules run by the worker from the change feed (ADR 0014)."},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(Text, comment="Unique case-insensitively.")
    description: Mapped[str] = mapped_column(Text, server_default="", comment="Free text.")
    position: Mapped[int] = mapped_column(Integer, server_default="0", comment="Run order.")
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    once_per_ticket: Mapped[bool] = mapped_column(
        Boolean, server_default=text("false"), comment="Run at most once per ticket."
    )
    conditions: Mapped[Any] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb"), comment='{"all": [...], "any": [...]}'
    )
    actions: Mapped[Any] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    max_per_hour: Mapped[int] = mapped_column(
        Integer, server_default="1000", comment="More executions in an hour disable the rule."
    )
    disabled_reason: Mapped[str | None] = mapped_column(Text, comment="Why it was disabled.")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), comment="Last change."
    )


class RuleExecution(Base):
    """One evaluation of a rule for one feed event or timer: its outcome and effects (the rule's
    log). Unique per (rule, event), and per (rule, ticket, timer basis) for time rules: a re-read
    event or a timer fired by two workers is never executed twice."""

    __tablename__ = "rule_executions"
    __table_args__ = (
        CheckConstraint(in_check("status", EXECUTION_STATUSES), name="status"),
        Index("uq_rule_executions_rule_event", "rule_id", "event_id", unique=True),
        Index("ix_rule_executions_rule_ticket", "rule_id", "ticket_id"),
        Index("ix_rule_executions_rule_id_id", "rule_id", text("id DESC")),
        Index("ix_rule_executions_rule_executed", "rule_id", "executed_at"),
        Index(
            "uq_rule_executions_rule_ticket_timer",
            "rule_id",
            "ticket_id",
            "timer_basis",
            unique=True,
            postgresql_where=text("timer_basis IS NOT NULL"),
        ),
        {"comment": "Per-rule execution log."},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    rule_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("rules.id", ondelete="CASCADE")
    )
    event_id: Mapped[int | None] = mapped_column(BigInteger, comment="The feed event evaluated.")
    ticket_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    timer_basis: Mapped[str | None] = mapped_column(
        Text, comment="The timer a time rule's execution ran for (null: a feed event)."
    )
    depth: Mapped[int] = mapped_column(Integer, server_default="0")
    status: Mapped[str] = mapped_column(Text, comment="applied|no_change|skipped|failed.")
    effects: Mapped[Any] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    reason: Mapped[str | None] = mapped_column(Text, comment="Why skipped or failed.")
    executed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class RuleFeedCursor(Base):
    """The rules consumer's position in the change feed and its lease (one row)."""

    __tablename__ = "rule_feed_cursor"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        {"comment": "Feed position of the rules runner; one worker holds the lease."},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    xid: Mapped[int] = mapped_column(BigInteger, server_default="0")
    event_id: Mapped[int] = mapped_column(BigInteger, server_default="0")
    lease_owner: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RuleTimer(Base):
    """When a time rule's conditions start to hold for a ticket (ADR 0014): the worker reads
    due rows by ``due_at``; a fired timer keeps its row (``due_at`` null) for its basis."""

    __tablename__ = "rule_timers"
    __table_args__ = (
        Index("ix_rule_timers_due_at", "due_at", postgresql_where=text("due_at IS NOT NULL")),
        Index("ix_rule_timers_ticket_id", "ticket_id"),
        {"comment": "Due times of time rules per ticket (ADR 0014); read by the due_at index."},
    )

    rule_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("rules.id", ondelete="CASCADE"), primary_key=True
    )
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    basis: Mapped[str] = mapped_column(Text, comment="The start instants the due time is from.")
    due_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True),
        comment="When the time conditions start to hold; null once fired for this basis.",
    )


class RuleState(Base):
    """A rule's bookkeeping: its hourly execution counter and when its timers were built."""

    __tablename__ = "rule_state"
    __table_args__ = ({"comment": "Rules' bookkeeping (rate counter, timer build): not audited."},)

    rule_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("rules.id", ondelete="CASCADE"), primary_key=True
    )
    rate_hour: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="The clock hour rate_count counts."
    )
    rate_count: Mapped[int] = mapped_column(
        Integer, server_default="0", comment="Applied executions in rate_hour."
    )
    timers_built_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True),
        comment="When the worker last built this rule's timers (rebuilt after a change).",
    )
