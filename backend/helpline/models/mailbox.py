import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, created_at_column, in_check, uuid_pk
from helpline.models.enums import TicketPriority, values


class Mailbox(Base):
    """An address customers write to: where its mail comes from and how tickets are opened."""

    __tablename__ = "mailboxes"
    __table_args__ = (
        CheckConstraint("char_length(address) BETWEEN 3 AND 320", name="address_length"),
        CheckConstraint("char_length(display_name) <= 200", name="display_name_length"),
        CheckConstraint(in_check("default_priority", values(TicketPriority)), name="priority"),
        CheckConstraint("char_length(auto_acknowledge_template) <= 20000", name="template_length"),
        Index("uq_mailboxes_address_lower", text("lower(address)"), unique=True),
        # One default mailbox at most, whatever the application does.
        Index(
            "uq_mailboxes_one_default",
            text("(true)"),
            unique=True,
            postgresql_where=text("is_default"),
        ),
        {"comment": "Mailboxes of the email channel; credentials are stored encrypted."},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    address: Mapped[str] = mapped_column(Text, comment="The address, unique case-insensitively.")
    display_name: Mapped[str] = mapped_column(
        Text, server_default="", comment="Name shown in From of outgoing mail."
    )
    imap_url_encrypted: Mapped[bytes | None] = mapped_column(
        LargeBinary, comment="Encrypted imap(s):// URL with credentials; null = HTTP/CLI only."
    )
    smtp_url_encrypted: Mapped[bytes | None] = mapped_column(
        LargeBinary, comment="Encrypted smtp URL overriding HELPLINE_SMTP_URL; null = default."
    )
    inbound_secret_encrypted: Mapped[bytes] = mapped_column(
        LargeBinary, comment="Encrypted whsec_ secret verifying the inbound HTTP endpoint."
    )
    default_priority: Mapped[str] = mapped_column(
        Text, server_default="normal", comment="Priority of tickets opened by mail."
    )
    default_assignee: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("users.id", ondelete="SET NULL"),
        comment="Assignee of tickets opened by mail.",
    )
    default_team_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("teams.id", ondelete="SET NULL"),
        comment="Team of tickets opened by mail.",
    )
    allow_unknown_senders: Mapped[bool] = mapped_column(
        Boolean,
        server_default=text("true"),
        comment="Unknown From addresses become customers; otherwise quarantined.",
    )
    auto_acknowledge: Mapped[bool] = mapped_column(
        Boolean, server_default=text("false"), comment="Answer new tickets automatically."
    )
    auto_acknowledge_template: Mapped[str] = mapped_column(
        Text, server_default="", comment="Text of the acknowledgement ({number}, {title})."
    )
    is_active: Mapped[bool] = mapped_column(
        Boolean, server_default=text("true"), comment="Disabled mailboxes take no mail."
    )
    is_default: Mapped[bool] = mapped_column(
        Boolean,
        server_default=text("false"),
        comment="Mails the replies of tickets opened on the web or by the API (one at most).",
    )
    imap_uidvalidity: Mapped[int | None] = mapped_column(
        BigInteger, comment="UIDVALIDITY of the IMAP folder last seen."
    )
    imap_last_uid: Mapped[int | None] = mapped_column(
        BigInteger, comment="Highest IMAP UID stored raw (under imap_uidvalidity)."
    )
    imap_error: Mapped[str | None] = mapped_column(
        Text, comment="Last IMAP connection error (null when healthy)."
    )
    imap_checked_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="Last successful IMAP check."
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
