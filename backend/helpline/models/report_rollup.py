"""Daily rollups of the metric facts, per report time zone, and what each ticket added to them.

See docs/reports.md ("Rollups"). Maintained by the reports consumer in the transaction that writes
the facts; a report reads them when its filters and zone allow, else the facts.
"""

import uuid
from datetime import date, datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    PrimaryKeyConstraint,
    SmallInteger,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base

NIL = text("'00000000-0000-0000-0000-000000000000'::uuid")
KEY_COLUMNS = (
    "zone", "grain", "kind", "assignee_id", "day", "priority", "team_id", "mailbox_id", "channel"
)  # fmt: skip


GRAIN_COMMENT = (
    "0: totals; 1: by priority, team, mailbox, channel; 2: 1 + assignee; 3: assignee only."
)


class ReportRollup(Base):
    """Sums of one kind of contribution per local day and key (upserted with deltas)."""

    __tablename__ = "report_rollups"
    __table_args__ = (
        PrimaryKeyConstraint(*KEY_COLUMNS),
        {"comment": "Daily rollups of ticket_metric_facts per report zone and key (reports)."},
    )

    zone: Mapped[str] = mapped_column(Text, comment="IANA zone whose local days these are.")
    grain: Mapped[int] = mapped_column(SmallInteger, comment=GRAIN_COMMENT)
    kind: Mapped[str] = mapped_column(
        Text,
        comment="created | first_response | solved | solved_first | solved_final | reopened |"
        " reopened_first_solve.",
    )
    assignee_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), comment="Current assignee (grains 2 and 3); the nil UUID for none."
    )
    day: Mapped[date] = mapped_column(Date, comment="Local day in `zone`.")
    priority: Mapped[str] = mapped_column(Text, comment="Current priority ('' at grains 0, 3).")
    team_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), comment="Current team; the nil UUID for none."
    )
    mailbox_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), comment="The ticket's mailbox; the nil UUID for none."
    )
    channel: Mapped[str] = mapped_column(Text, comment="email | api ('' at grains 0, 3).")
    n: Mapped[int] = mapped_column(BigInteger, comment="Contributions (facts) counted.")
    cal_n: Mapped[int] = mapped_column(BigInteger, comment="Of those, with calendar seconds.")
    cal_sum: Mapped[int] = mapped_column(BigInteger, comment="Sum of calendar seconds.")
    bus_n: Mapped[int] = mapped_column(BigInteger, comment="Of those, with business seconds.")
    bus_sum: Mapped[int] = mapped_column(BigInteger, comment="Sum of business seconds.")


class ReportRollupBin(Base):
    """One bin of a rollup row's log-scale histogram of seconds (only bins with a count)."""

    __tablename__ = "report_rollup_bins"
    __table_args__ = (
        PrimaryKeyConstraint(*KEY_COLUMNS, "measure", "bin"),
        {"comment": "Histogram bins of the report rollups' durations (report.histogram)."},
    )

    zone: Mapped[str] = mapped_column(Text)
    grain: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[str] = mapped_column(Text)
    assignee_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    day: Mapped[date] = mapped_column(Date)
    priority: Mapped[str] = mapped_column(Text)
    team_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    mailbox_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    channel: Mapped[str] = mapped_column(Text)
    measure: Mapped[int] = mapped_column(SmallInteger, comment="0: calendar, 1: business seconds.")
    bin: Mapped[int] = mapped_column(SmallInteger, comment="Bin of report.histogram (0: 0 s).")
    count: Mapped[int] = mapped_column(BigInteger, comment="Values in the bin.")


class ReportRollupZone(Base):
    """A time zone rollups are kept in; read only once `ready` (every ticket synced)."""

    __tablename__ = "report_rollup_zones"
    __table_args__ = ({"comment": "Time zones the report rollups are kept in."},)

    zone: Mapped[str] = mapped_column(Text, primary_key=True)
    ready: Mapped[bool] = mapped_column(
        Boolean, comment="Every ticket's contributions are in; reports may read this zone."
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TicketRollupState(Base):
    """What one ticket has added to the rollups: its key, facts and zones at the last sync."""

    __tablename__ = "ticket_rollup_states"
    __table_args__ = ({"comment": "Per ticket: the key, facts and zones its rollups reflect."},)

    ticket_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    live: Mapped[bool] = mapped_column(
        Boolean, server_default=text("false"), comment="False: nothing added (new or deleted)."
    )
    priority: Mapped[str] = mapped_column(Text, server_default=text("''"))
    team_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), server_default=NIL)
    mailbox_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), server_default=NIL)
    channel: Mapped[str] = mapped_column(Text, server_default=text("''"))
    assignee_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), server_default=NIL)
    facts: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'"), comment="The facts added, as kind:seq."
    )
    zones: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'"), comment="The zones they were added in."
    )
