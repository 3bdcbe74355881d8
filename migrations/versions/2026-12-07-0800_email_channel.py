"""Email channel: ticket numbers, message channels, mailboxes, raw inbound mail, the outbox.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 08:00:00+00:00

- ``tickets.number``: bigint from the sequence ``tickets_number_seq``, unique. Existing tickets
  are numbered in creation order, in batches of ``BATCH`` rows (bounded statements). The audit
  trigger is off during the backfill only: numbering is bookkeeping, not a change anyone made
  (``tickets_touch`` and the history/event triggers ignore the column anyway).
- ``conversations.channel``: ``web | api | email``; existing messages count as ``api``.
- ``mailboxes`` (credentials encrypted by the application, never in clear), ``inbound_emails``
  (the raw message in ``bytea``: it commits atomically with its row and its processing job, which
  a storage backend write cannot; see docs/email.md), ``outbound_emails`` (the outbox, with the
  delivery state), ``email_suppressions``.
- Events: ``message.created`` carries the message's ``channel``; a new ``message.delivery`` event
  is written whenever an outbound mail of a message is queued or changes state.
- Audit: mailbox changes (never the encrypted columns, nor the IMAP position bookkeeping),
  quarantine decisions (discard, replay) and suppression changes, through helpline_audit().
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 10_000
OLD_EVENT_TYPES = (
    "ticket.created",
    "ticket.updated",
    "ticket.deleted",
    "message.created",
    "metadata.changed",
    "attachment.added",
)
NEW_EVENT_TYPES = (*OLD_EVENT_TYPES, "message.delivery")

CONVERSATIONS_EVENTS = r"""
CREATE OR REPLACE FUNCTION conversations_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM helpline_emit_event('message.created', NEW.ticket_id, NEW.is_internal,
        jsonb_build_object('message_id', NEW.id, 'sender_id', NEW.sender_id,
                           'sender_type', NEW.sender_type, 'is_internal', NEW.is_internal,
                           'timestamp', NEW.timestamp, 'excerpt', left(NEW.message, 1000),
                           'length', char_length(NEW.message){channel}));
    RETURN NULL;
END $$;
"""

TRIGGER_FUNCTIONS = r"""
CREATE FUNCTION outbound_emails_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.conversation_id IS NULL THEN
        RETURN NULL;  -- an auto-acknowledgement is no message of the conversation
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
        RETURN NULL;  -- a retry's bookkeeping
    END IF;
    PERFORM helpline_emit_event('message.delivery', NEW.ticket_id, false,
        jsonb_build_object('message_id', NEW.conversation_id, 'status', NEW.status,
                           'email_message_id', NEW.message_id, 'error', NEW.error,
                           'attempts', NEW.attempts));
    RETURN NULL;
END $$;

CREATE FUNCTION mailboxes_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    hidden text[] := '{imap_url_encrypted,smtp_url_encrypted,inbound_secret_encrypted,imap_uidvalidity,imap_last_uid,imap_error,imap_checked_at,updated_at}';
    changes jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM helpline_audit('mailbox.created', 'mailbox', NEW.id::text,
            (to_jsonb(NEW) - hidden)
            || jsonb_build_object('has_imap_url', NEW.imap_url_encrypted IS NOT NULL,
                                  'has_smtp_url', NEW.smtp_url_encrypted IS NOT NULL));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM helpline_audit('mailbox.deleted', 'mailbox', OLD.id::text, to_jsonb(OLD) - hidden);
    ELSE
        changes := helpline_jsonb_diff(to_jsonb(OLD) - hidden, to_jsonb(NEW) - hidden);
        IF NEW.imap_url_encrypted IS DISTINCT FROM OLD.imap_url_encrypted THEN
            changes := coalesce(changes, '{}'::jsonb) || '{"imap_url": "[changed]"}';
        END IF;
        IF NEW.smtp_url_encrypted IS DISTINCT FROM OLD.smtp_url_encrypted THEN
            changes := coalesce(changes, '{}'::jsonb) || '{"smtp_url": "[changed]"}';
        END IF;
        IF NEW.inbound_secret_encrypted IS DISTINCT FROM OLD.inbound_secret_encrypted THEN
            changes := coalesce(changes, '{}'::jsonb) || '{"inbound_secret": "[changed]"}';
        END IF;
        IF changes IS NULL THEN
            RETURN NULL;  -- the IMAP loop's position bookkeeping
        END IF;
        PERFORM helpline_audit(
            CASE WHEN OLD.is_active AND NOT NEW.is_active THEN 'mailbox.disabled'
                 ELSE 'mailbox.updated' END,
            'mailbox', NEW.id::text, changes);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION inbound_emails_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Decisions people make about quarantined mail (replay, discard); the worker's processing
    -- is in the ticket's history and audit already (the messages and tickets it writes).
    IF OLD.status = 'quarantined' AND NEW.status IN ('received', 'discarded') THEN
        PERFORM helpline_audit(
            CASE WHEN NEW.status = 'discarded' THEN 'inbound_email.discarded'
                 ELSE 'inbound_email.replayed' END,
            'inbound_email', NEW.id::text,
            jsonb_build_object('status', jsonb_build_array(OLD.status, NEW.status),
                               'reason', OLD.reason, 'mailbox_id', NEW.mailbox_id));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION email_suppressions_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM helpline_audit('email_suppression.added', 'email_suppression', NEW.address,
                               jsonb_build_object('reason', NEW.reason));
    ELSE
        PERFORM helpline_audit('email_suppression.cleared', 'email_suppression', OLD.address,
                               jsonb_build_object('reason', OLD.reason));
    END IF;
    RETURN NULL;
END $$;
"""

TRIGGERS = (
    ("outbound_emails_events", "outbound_emails", "INSERT OR UPDATE OF status"),
    ("mailboxes_audit", "mailboxes", "INSERT OR UPDATE OR DELETE"),
    ("inbound_emails_audit", "inbound_emails", "UPDATE OF status"),
    ("email_suppressions_audit", "email_suppressions", "INSERT OR DELETE"),
)
FUNCTIONS = (
    "email_suppressions_audit()",
    "inbound_emails_audit()",
    "mailboxes_audit()",
    "outbound_emails_events()",
)


def statements(sql: str) -> list[str]:
    return [part.strip() for part in re.split(r"\n(?=CREATE FUNCTION)", sql) if part.strip()]


def _event_types(types: tuple[str, ...]) -> None:
    quoted = ", ".join(f"'{t}'" for t in types)
    op.drop_constraint(op.f("ck_events_type"), "events", type_="check")
    op.create_check_constraint(op.f("ck_events_type"), "events", f"type IN ({quoted})")


def _number_tickets() -> None:
    op.execute("CREATE SEQUENCE tickets_number_seq AS bigint")
    op.add_column(
        "tickets",
        sa.Column(
            "number",
            sa.BigInteger(),
            nullable=True,
            comment="Human-friendly number (sequence): shown in the UI, searchable, in subjects.",
        ),
    )
    op.execute("ALTER TABLE tickets DISABLE TRIGGER tickets_audit")
    bind = op.get_bind()
    while True:
        # Numbers from row_number() over the batch's order (nextval() in an UPDATE would follow
        # the scan order instead), continuing after the highest number given so far.
        numbered = bind.execute(
            sa.text(
                "WITH batch AS (SELECT id, row_number() OVER (ORDER BY created_at, id) AS rn"
                "  FROM tickets WHERE number IS NULL ORDER BY created_at, id LIMIT :batch),"
                " base AS (SELECT coalesce(max(number), 0) AS top FROM tickets)"
                " UPDATE tickets t SET number = base.top + batch.rn FROM batch, base"
                " WHERE t.id = batch.id"
            ),
            {"batch": BATCH},
        ).rowcount
        if not numbered:
            break
    op.execute(
        "SELECT setval('tickets_number_seq', coalesce(max(number), 0) + 1, false) FROM tickets"
    )
    op.execute("ALTER TABLE tickets ENABLE TRIGGER tickets_audit")
    op.alter_column(
        "tickets",
        "number",
        nullable=False,
        server_default=sa.text("nextval('tickets_number_seq')"),
    )
    op.execute("ALTER SEQUENCE tickets_number_seq OWNED BY tickets.number")
    op.create_index("uq_tickets_number", "tickets", ["number"], unique=True)


def upgrade() -> None:
    _number_tickets()
    op.add_column(
        "conversations",
        sa.Column(
            "channel",
            sa.Text(),
            server_default="api",
            nullable=False,
            comment="How the message arrived: web | api | email.",
        ),
    )
    op.create_check_constraint(
        op.f("ck_conversations_channel"), "conversations", "channel IN ('web', 'api', 'email')"
    )
    op.create_table(
        "mailboxes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "address",
            sa.Text(),
            nullable=False,
            comment="The address, unique case-insensitively.",
        ),
        sa.Column(
            "display_name",
            sa.Text(),
            server_default="",
            nullable=False,
            comment="Name shown in From of outgoing mail.",
        ),
        sa.Column(
            "imap_url_encrypted",
            sa.LargeBinary(),
            nullable=True,
            comment="Encrypted imap(s):// URL with credentials; null = HTTP/CLI only.",
        ),
        sa.Column(
            "smtp_url_encrypted",
            sa.LargeBinary(),
            nullable=True,
            comment="Encrypted smtp URL overriding HELPLINE_SMTP_URL; null = default.",
        ),
        sa.Column(
            "inbound_secret_encrypted",
            sa.LargeBinary(),
            nullable=False,
            comment="Encrypted whsec_ secret verifying the inbound HTTP endpoint.",
        ),
        sa.Column(
            "default_priority",
            sa.Text(),
            server_default="normal",
            nullable=False,
            comment="Priority of tickets opened by mail.",
        ),
        sa.Column(
            "default_assignee",
            sa.UUID(),
            nullable=True,
            comment="Assignee of tickets opened by mail.",
        ),
        sa.Column(
            "allow_unknown_senders",
            sa.Boolean(),
            server_default=sa.text("true"),
            nullable=False,
            comment="Unknown From addresses become customers; otherwise quarantined.",
        ),
        sa.Column(
            "auto_acknowledge",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="Answer new tickets automatically.",
        ),
        sa.Column(
            "auto_acknowledge_template",
            sa.Text(),
            server_default="",
            nullable=False,
            comment="Text of the acknowledgement ({number}, {title}).",
        ),
        sa.Column(
            "is_active",
            sa.Boolean(),
            server_default=sa.text("true"),
            nullable=False,
            comment="Disabled mailboxes take no mail.",
        ),
        sa.Column(
            "imap_uidvalidity",
            sa.BigInteger(),
            nullable=True,
            comment="UIDVALIDITY of the IMAP folder last seen.",
        ),
        sa.Column(
            "imap_last_uid",
            sa.BigInteger(),
            nullable=True,
            comment="Highest IMAP UID stored raw (under imap_uidvalidity).",
        ),
        sa.Column(
            "imap_error",
            sa.Text(),
            nullable=True,
            comment="Last IMAP connection error (null when healthy).",
        ),
        sa.Column(
            "imap_checked_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Last successful IMAP check.",
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "char_length(address) BETWEEN 3 AND 320", name=op.f("ck_mailboxes_address_length")
        ),
        sa.CheckConstraint(
            "char_length(display_name) <= 200", name=op.f("ck_mailboxes_display_name_length")
        ),
        sa.CheckConstraint(
            "default_priority IN ('low', 'normal', 'high', 'urgent')",
            name=op.f("ck_mailboxes_priority"),
        ),
        sa.CheckConstraint(
            "char_length(auto_acknowledge_template) <= 20000",
            name=op.f("ck_mailboxes_template_length"),
        ),
        sa.ForeignKeyConstraint(
            ["default_assignee"],
            ["users.id"],
            name=op.f("fk_mailboxes_default_assignee_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailboxes")),
        comment="Mailboxes of the email channel; credentials are stored encrypted.",
    )
    op.create_index(
        "uq_mailboxes_address_lower", "mailboxes", [sa.text("lower(address)")], unique=True
    )
    op.create_table(
        "inbound_emails",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("mailbox_id", sa.UUID(), nullable=False),
        sa.Column(
            "raw", sa.LargeBinary(), nullable=False, comment="The message as received (RFC 5322)."
        ),
        sa.Column("size", sa.Integer(), nullable=False, comment="Size of raw in bytes."),
        sa.Column("sha256", sa.Text(), nullable=False, comment="Hex SHA-256 of raw."),
        sa.Column("message_id", sa.Text(), nullable=True, comment="Message-ID without <>."),
        sa.Column(
            "dedupe_key",
            sa.Text(),
            nullable=False,
            comment="message_id, or sha256:<hex> without one: the same message is one row.",
        ),
        sa.Column(
            "source", sa.Text(), nullable=False, comment="http | imap | cli (the first path)."
        ),
        sa.Column("imap_uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("imap_uid", sa.BigInteger(), nullable=True),
        sa.Column(
            "status",
            sa.Text(),
            server_default="received",
            nullable=False,
            comment="received|processed|quarantined|discarded.",
        ),
        sa.Column("reason", sa.Text(), nullable=True, comment="Why it was quarantined/discarded."),
        sa.Column("sender", sa.Text(), nullable=True, comment="From address (lower-case)."),
        sa.Column("ticket_id", sa.UUID(), nullable=True),
        sa.Column("conversation_id", sa.UUID(), nullable=True),
        sa.Column(
            "thread_reason",
            sa.Text(),
            nullable=True,
            comment="reply_token|references|subject|new_ticket|bounce.",
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "source IN ('http', 'imap', 'cli')", name=op.f("ck_inbound_emails_source")
        ),
        sa.CheckConstraint(
            "status IN ('received', 'processed', 'quarantined', 'discarded')",
            name=op.f("ck_inbound_emails_status"),
        ),
        sa.CheckConstraint(
            "thread_reason IS NULL OR thread_reason IN ('reply_token', 'references', 'subject',"
            " 'new_ticket', 'bounce')",
            name=op.f("ck_inbound_emails_thread_reason"),
        ),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_inbound_emails_sha256_hex")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_inbound_emails_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_inbound_emails_mailbox_id_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_inbound_emails_ticket_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_emails")),
        sa.UniqueConstraint("mailbox_id", "dedupe_key", name="uq_inbound_emails_mailbox_dedupe"),
        comment="Raw inbound mail, one row per message per mailbox (any path).",
    )
    op.create_index("ix_inbound_emails_status_id", "inbound_emails", ["status", "id"])
    op.create_index("ix_inbound_emails_message_id", "inbound_emails", ["message_id"])
    op.create_index(
        "ix_inbound_emails_sender_received", "inbound_emails", ["sender", "received_at"]
    )
    op.create_index("ix_inbound_emails_ticket_id", "inbound_emails", ["ticket_id"])
    op.create_table(
        "outbound_emails",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column(
            "conversation_id",
            sa.UUID(),
            nullable=True,
            comment="The message mailed; null for an auto-acknowledgement.",
        ),
        sa.Column("mailbox_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False, comment="reply | auto_acknowledgement."),
        sa.Column("to_address", sa.Text(), nullable=False, comment="Recipient address."),
        sa.Column(
            "message_id",
            sa.Text(),
            nullable=False,
            comment="Message-ID (without <>), fixed at creation: the same on every retry.",
        ),
        sa.Column("in_reply_to", sa.Text(), nullable=True, comment="Message-ID answered."),
        sa.Column(
            "references",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
            comment="The References chain, oldest first.",
        ),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False, comment="Plain-text body."),
        sa.Column(
            "status",
            sa.Text(),
            server_default="queued",
            nullable=False,
            comment="queued | sent | failed | bounced.",
        ),
        sa.Column("error", sa.Text(), nullable=True, comment="Why it failed or bounced."),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'failed', 'bounced')",
            name=op.f("ck_outbound_emails_status"),
        ),
        sa.CheckConstraint(
            "kind IN ('reply', 'auto_acknowledgement')", name=op.f("ck_outbound_emails_kind")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_outbound_emails_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_outbound_emails_mailbox_id_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_outbound_emails_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_emails")),
        comment="Outgoing mail (outbox) and its delivery state.",
    )
    op.create_index("uq_outbound_emails_message_id", "outbound_emails", ["message_id"], unique=True)
    op.create_index("ix_outbound_emails_conversation_id", "outbound_emails", ["conversation_id"])
    op.create_index("ix_outbound_emails_ticket_id", "outbound_emails", ["ticket_id"])
    op.create_index(
        "ix_outbound_emails_queued",
        "outbound_emails",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_table(
        "email_suppressions",
        sa.Column("address", sa.Text(), nullable=False, comment="Lower-case address."),
        sa.Column(
            "reason", sa.Text(), nullable=False, comment="The bounce's status and diagnostic."
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_email_suppressions")),
        comment="Suppressed recipient addresses (after hard bounces).",
    )

    op.add_column(
        "tickets",
        sa.Column(
            "mailbox_id",
            sa.UUID(),
            nullable=True,
            comment="Mailbox the ticket came from: public staff replies are mailed from it.",
        ),
    )
    op.create_foreign_key(
        op.f("fk_tickets_mailbox_id_mailboxes"),
        "tickets",
        "mailboxes",
        ["mailbox_id"],
        ["id"],
        ondelete="SET NULL",
    )
    _event_types(NEW_EVENT_TYPES)
    op.execute(CONVERSATIONS_EVENTS.format(channel=", 'channel', NEW.channel").strip())
    for statement in statements(TRIGGER_FUNCTIONS):
        op.execute(statement)
    for function, table, events in TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {function} AFTER {events} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
    op.execute(
        """
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'helpline_runtime') THEN
                GRANT SELECT, INSERT, UPDATE, DELETE ON mailboxes, inbound_emails,
                    outbound_emails, email_suppressions TO helpline_runtime;
                GRANT USAGE, SELECT ON SEQUENCE tickets_number_seq TO helpline_runtime;
            END IF;
        END $$;
        """
    )


def downgrade() -> None:
    for function, table, _ in reversed(TRIGGERS):
        op.execute(f"DROP TRIGGER {function} ON {table}")
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    op.execute(CONVERSATIONS_EVENTS.format(channel="").strip())
    op.execute("DELETE FROM events WHERE type = 'message.delivery'")
    _event_types(OLD_EVENT_TYPES)
    op.drop_constraint(op.f("fk_tickets_mailbox_id_mailboxes"), "tickets", type_="foreignkey")
    op.drop_column("tickets", "mailbox_id")
    op.drop_table("email_suppressions")
    op.drop_index("ix_outbound_emails_queued", table_name="outbound_emails")
    op.drop_index("ix_outbound_emails_ticket_id", table_name="outbound_emails")
    op.drop_index("ix_outbound_emails_conversation_id", table_name="outbound_emails")
    op.drop_index("uq_outbound_emails_message_id", table_name="outbound_emails")
    op.drop_table("outbound_emails")
    op.drop_index("ix_inbound_emails_ticket_id", table_name="inbound_emails")
    op.drop_index("ix_inbound_emails_sender_received", table_name="inbound_emails")
    op.drop_index("ix_inbound_emails_message_id", table_name="inbound_emails")
    op.drop_index("ix_inbound_emails_status_id", table_name="inbound_emails")
    op.drop_table("inbound_emails")
    op.drop_index("uq_mailboxes_address_lower", table_name="mailboxes")
    op.drop_table("mailboxes")
    op.drop_constraint(op.f("ck_conversations_channel"), "conversations", type_="check")
    op.drop_column("conversations", "channel")
    op.drop_index("uq_tickets_number", table_name="tickets")
    op.drop_column("tickets", "number")  # drops the sequence it owns
