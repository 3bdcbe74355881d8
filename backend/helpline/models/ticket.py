import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    Sequence,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, created_at_column, in_check, uuid_pk
from helpline.models.enums import TicketPriority, TicketStatus, values

SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('english'::regconfig, title), 'A') || "
    "setweight(to_tsvector('english'::regconfig, description), 'B')"
)
LIVE = text("deleted_at IS NULL")
NUMBER_SEQUENCE = Sequence("tickets_number_seq", metadata=Base.metadata)


def _keyset_index(name: str, *leading: str) -> Index:
    """A partial index over live tickets ordered for the default `-updated_at` keyset."""
    return Index(name, *leading, text("updated_at DESC"), text("id DESC"), postgresql_where=LIVE)


class Ticket(Base):
    """A support request from a customer."""

    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint("char_length(title) BETWEEN 1 AND 200", name="title_length"),
        CheckConstraint("char_length(description) <= 100000", name="description_length"),
        CheckConstraint(in_check("status", values(TicketStatus)), name="status"),
        CheckConstraint(in_check("priority", values(TicketPriority)), name="priority"),
        CheckConstraint("version >= 1", name="version_positive"),
        _keyset_index("ix_tickets_live_updated"),
        Index(
            "ix_tickets_live_created",
            text("created_at DESC"),
            text("id DESC"),
            postgresql_where=LIVE,
        ),
        _keyset_index("ix_tickets_customer_updated", "customer_id"),
        _keyset_index("ix_tickets_assignee_updated", "assigned_to"),
        _keyset_index("ix_tickets_status_updated", "status"),
        Index("ix_tickets_search", "search_vector", postgresql_using="gin"),
        Index("uq_tickets_number", "number", unique=True),
        {"comment": "Support tickets. Soft-deleted rows keep deleted_at."},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[int] = mapped_column(
        BigInteger,
        server_default=text("nextval('tickets_number_seq')"),
        comment="Human-friendly number (sequence): shown in the UI, searchable, in subjects.",
    )
    title: Mapped[str] = mapped_column(Text, comment="Short summary, 1-200 characters.")
    description: Mapped[str] = mapped_column(
        Text, server_default="", comment="Full description, up to 100,000 characters."
    )
    status: Mapped[str] = mapped_column(
        Text,
        server_default="new",
        comment="new|open|pending|on_hold|solved|closed; closed is terminal.",
    )
    priority: Mapped[str] = mapped_column(
        Text, server_default="normal", comment="low|normal|high|urgent."
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        server_default=func.now(),
        comment="Time of the last change (maintained by trigger).",
    )
    assigned_to: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id"), comment="Agent or admin working the ticket."
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id"), comment="Customer the ticket belongs to."
    )
    version: Mapped[int] = mapped_column(
        Integer,
        server_default="1",
        comment="+1 on every change (maintained by trigger); the ETag and If-Match value.",
    )
    mailbox_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("mailboxes.id", ondelete="SET NULL"),
        comment="Mailbox the ticket came from: public staff replies are mailed from it.",
    )
    deleted_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="Soft-delete time; deleted tickets are invisible."
    )
    # Not a generated column: PostgreSQL 15 recomputes those on every UPDATE of a table with a
    # BEFORE ROW trigger, so each touch of updated_at ran to_tsvector (migration 0012).
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR,
        server_default=FetchedValue(),
        comment=(
            "Full-text vector: title (weight A) and description (weight B); "
            "maintained by tickets_before_write()."
        ),
    )
