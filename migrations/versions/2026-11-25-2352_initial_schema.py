"""Initial schema: every table of DESIGN §4 with its constraints and indexes.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 23:52:57.046659+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "actor_type", sa.Text(), nullable=False, comment="user | api_key | system | anonymous."
        ),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column("api_key_id", sa.UUID(), nullable=True),
        sa.Column(
            "action", sa.Text(), nullable=False, comment="Dotted action, e.g. ticket.updated."
        ),
        sa.Column("entity_type", sa.Text(), nullable=True),
        sa.Column("entity_id", sa.Text(), nullable=True),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.Column("ip", postgresql.INET(), nullable=True),
        sa.Column(
            "changes",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="What changed; never secrets.",
        ),
        sa.Column(
            "outcome",
            sa.Text(),
            server_default="success",
            nullable=False,
            comment="success | failure | denied.",
        ),
        sa.CheckConstraint(
            "actor_type IN ('user', 'api_key', 'system', 'anonymous')",
            name=op.f("ck_audit_log_actor_type"),
        ),
        sa.CheckConstraint(
            "outcome IN ('success', 'failure', 'denied')", name=op.f("ck_audit_log_outcome")
        ),
        sa.PrimaryKeyConstraint("id", "occurred_at", name=op.f("pk_audit_log")),
        comment="Audit events (data changes, auth, system); partitioned by month.",
        postgresql_partition_by="RANGE (occurred_at)",
    )
    op.create_index("ix_audit_log_action", "audit_log", ["action", "occurred_at"], unique=False)
    op.create_index("ix_audit_log_actor", "audit_log", ["actor_id", "occurred_at"], unique=False)
    op.create_index(
        "ix_audit_log_entity",
        "audit_log",
        ["entity_type", "entity_id", "occurred_at"],
        unique=False,
    )
    op.create_index(
        "ix_audit_log_occurred_at_brin",
        "audit_log",
        ["occurred_at"],
        unique=False,
        postgresql_using="brin",
    )
    op.create_index("ix_audit_log_request_id", "audit_log", ["request_id"], unique=False)
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("principal", sa.Text(), nullable=False, comment="Caller the key belongs to."),
        sa.Column(
            "request_fingerprint",
            sa.Text(),
            nullable=False,
            comment="SHA-256 of method, path, body.",
        ),
        sa.Column("response_status", sa.Integer(), nullable=True, comment="Null while in flight."),
        sa.Column("response_body", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("response_headers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "char_length(key) BETWEEN 1 AND 255", name=op.f("ck_idempotency_keys_key_length")
        ),
        sa.PrimaryKeyConstraint("principal", "key", name=op.f("pk_idempotency_keys")),
        comment="Idempotency keys of POST requests and the responses to replay.",
    )
    op.create_index(
        "ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"], unique=False
    )
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "email",
            sa.Text(),
            nullable=False,
            comment="Login and contact address, unique case-insensitively.",
        ),
        sa.Column("name", sa.Text(), nullable=False, comment="Display name."),
        sa.Column("role", sa.Text(), nullable=False, comment="admin | agent | customer."),
        sa.Column(
            "is_active",
            sa.Boolean(),
            server_default=sa.text("true"),
            nullable=False,
            comment="Inactive users cannot authenticate.",
        ),
        sa.Column(
            "password_hash",
            sa.Text(),
            nullable=True,
            comment="argon2 hash for the web interface; null = no password login.",
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="Last change to the row.",
        ),
        sa.Column(
            "last_login_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Last successful password login.",
        ),
        sa.CheckConstraint("role IN ('admin', 'agent', 'customer')", name=op.f("ck_users_role")),
        sa.CheckConstraint(
            "char_length(email) BETWEEN 3 AND 320", name=op.f("ck_users_email_length")
        ),
        sa.CheckConstraint(
            "char_length(name) BETWEEN 1 AND 200", name=op.f("ck_users_name_length")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        comment="People who use Helpline: admins, agents and customers.",
    )
    op.create_index("ix_users_role_created", "users", ["role", "created_at", "id"], unique=False)
    op.create_index(
        "uq_users_email_lower", "users", [sa.literal_column("lower(email)")], unique=True
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False, comment="Owner."),
        sa.Column("name", sa.Text(), nullable=False, comment="Owner's label for the key."),
        sa.Column(
            "prefix", sa.Text(), nullable=False, comment="First characters of the key, for display."
        ),
        sa.Column(
            "key_hash", sa.LargeBinary(), nullable=False, comment="HMAC-SHA256(pepper, key)."
        ),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False, comment="Granted scopes."),
        sa.Column(
            "rate_limit_per_minute",
            sa.Integer(),
            nullable=True,
            comment="Per-key limit; null = the default from settings.",
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "lineage_id",
            sa.UUID(),
            nullable=False,
            comment="Shared by a key and all its rotations.",
        ),
        sa.Column(
            "rotated_from_id", sa.UUID(), nullable=True, comment="The key this one replaced."
        ),
        sa.CheckConstraint(
            "char_length(name) BETWEEN 1 AND 100", name=op.f("ck_api_keys_name_length")
        ),
        sa.CheckConstraint("octet_length(key_hash) = 32", name=op.f("ck_api_keys_key_hash_length")),
        sa.CheckConstraint(
            "rate_limit_per_minute IS NULL OR rate_limit_per_minute > 0",
            name=op.f("ck_api_keys_rate_limit_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["rotated_from_id"],
            ["api_keys.id"],
            name=op.f("fk_api_keys_rotated_from_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        comment="API keys: HMAC-SHA256 of the secret under a server pepper, scopes, limits.",
    )
    op.create_index("ix_api_keys_lineage_id", "api_keys", ["lineage_id"], unique=False)
    op.create_index("ix_api_keys_user_id", "api_keys", ["user_id"], unique=False)
    op.create_index("uq_api_keys_key_hash", "api_keys", ["key_hash"], unique=True)
    op.create_table(
        "tickets",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False, comment="Short summary, 1-200 characters."),
        sa.Column(
            "description",
            sa.Text(),
            server_default="",
            nullable=False,
            comment="Full description, up to 100,000 characters.",
        ),
        sa.Column(
            "status",
            sa.Text(),
            server_default="new",
            nullable=False,
            comment="new|open|pending|on_hold|solved|closed; closed is terminal.",
        ),
        sa.Column(
            "priority",
            sa.Text(),
            server_default="normal",
            nullable=False,
            comment="low|normal|high|urgent.",
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="Time of the last change (maintained by trigger).",
        ),
        sa.Column(
            "assigned_to", sa.UUID(), nullable=True, comment="Agent or admin working the ticket."
        ),
        sa.Column(
            "customer_id", sa.UUID(), nullable=False, comment="Customer the ticket belongs to."
        ),
        sa.Column(
            "version",
            sa.Integer(),
            server_default="1",
            nullable=False,
            comment="+1 on every change (maintained by trigger); the ETag and If-Match value.",
        ),
        sa.Column(
            "deleted_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Soft-delete time; deleted tickets are invisible.",
        ),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('english'::regconfig, title), 'A') || setweight(to_tsvector('english'::regconfig, description), 'B')",
                persisted=True,
            ),
            nullable=False,
            comment="Full-text vector: title (weight A) and description (weight B).",
        ),
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')", name=op.f("ck_tickets_priority")
        ),
        sa.CheckConstraint(
            "status IN ('new', 'open', 'pending', 'on_hold', 'solved', 'closed')",
            name=op.f("ck_tickets_status"),
        ),
        sa.CheckConstraint(
            "char_length(description) <= 100000", name=op.f("ck_tickets_description_length")
        ),
        sa.CheckConstraint(
            "char_length(title) BETWEEN 1 AND 200", name=op.f("ck_tickets_title_length")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_tickets_version_positive")),
        sa.ForeignKeyConstraint(
            ["assigned_to"], ["users.id"], name=op.f("fk_tickets_assigned_to_users")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["users.id"], name=op.f("fk_tickets_customer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        comment="Support tickets. Soft-deleted rows keep deleted_at.",
    )
    op.create_index(
        "ix_tickets_assignee_updated",
        "tickets",
        ["assigned_to", sa.literal_column("updated_at DESC"), sa.literal_column("id DESC")],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_tickets_customer_updated",
        "tickets",
        ["customer_id", sa.literal_column("updated_at DESC"), sa.literal_column("id DESC")],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_tickets_live_created",
        "tickets",
        [sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_tickets_live_updated",
        "tickets",
        [sa.literal_column("updated_at DESC"), sa.literal_column("id DESC")],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_tickets_priority_updated",
        "tickets",
        ["priority", sa.literal_column("updated_at DESC"), sa.literal_column("id DESC")],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_tickets_search", "tickets", ["search_vector"], unique=False, postgresql_using="gin"
    )
    op.create_index(
        "ix_tickets_status_updated",
        "tickets",
        ["status", sa.literal_column("updated_at DESC"), sa.literal_column("id DESC")],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column(
            "message", sa.Text(), nullable=False, comment="Message text, 1-100,000 characters."
        ),
        sa.Column(
            "sender_id", sa.UUID(), nullable=True, comment="Author; null for system messages."
        ),
        sa.Column("sender_type", sa.Text(), nullable=False, comment="customer | agent | system."),
        sa.Column(
            "is_internal",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="Internal note, never shown to customers.",
        ),
        sa.Column(
            "timestamp", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "attachments",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
            comment="Descriptors of bound attachments: id, filename, content_type, size, sha256.",
        ),
        sa.CheckConstraint(
            "jsonb_typeof(attachments) = 'array'", name=op.f("ck_conversations_attachments_array")
        ),
        sa.CheckConstraint(
            "sender_type IN ('customer', 'agent', 'system')",
            name=op.f("ck_conversations_sender_type"),
        ),
        sa.CheckConstraint(
            "char_length(message) BETWEEN 1 AND 100000",
            name=op.f("ck_conversations_message_length"),
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["users.id"], name=op.f("fk_conversations_sender_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_conversations_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        comment="Messages of ticket conversations; internal notes are hidden from customers.",
    )
    op.create_index(
        "ix_conversations_ticket_id_timestamp_id",
        "conversations",
        ["ticket_id", "timestamp", "id"],
        unique=False,
    )
    op.create_table(
        "ticket_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column(
            "change_type", sa.Text(), nullable=False, comment="What changed (see ChangeType)."
        ),
        sa.Column(
            "changed_by",
            sa.UUID(),
            nullable=True,
            comment="Acting user id; null for system changes.",
        ),
        sa.Column(
            "timestamp", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "old_value",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="Value before the change.",
        ),
        sa.Column(
            "new_value",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="Value after the change.",
        ),
        sa.Column(
            "change_set_id",
            sa.UUID(),
            nullable=False,
            comment="Groups the rows written by one transaction.",
        ),
        sa.Column("request_id", sa.Text(), nullable=True, comment="Request that made the change."),
        sa.CheckConstraint(
            "change_type IN ('created', 'status_changed', 'priority_changed', 'assignee_changed', 'title_changed', 'description_changed', 'metadata_set', 'metadata_removed', 'message_added', 'deleted', 'restored')",
            name=op.f("ck_ticket_history_change_type"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_history_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_history")),
        comment="Per-ticket change history, one row per changed field, written by triggers.",
    )
    op.create_index(
        "ix_ticket_history_change_set_id", "ticket_history", ["change_set_id"], unique=False
    )
    op.create_index(
        "ix_ticket_history_ticket_id_id", "ticket_history", ["ticket_id", "id"], unique=False
    )
    op.create_table(
        "ticket_metadata",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column(
            "key", sa.Text(), nullable=False, comment="Lower-case key, ^[a-z0-9][a-z0-9_.-]{0,63}$."
        ),
        sa.Column(
            "value",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="Any JSON value, at most 4 KiB serialized.",
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "key ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'", name=op.f("ck_ticket_metadata_key_format")
        ),
        sa.CheckConstraint(
            "octet_length(value::text) <= 4096", name=op.f("ck_ticket_metadata_value_size")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_metadata_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_metadata")),
        sa.UniqueConstraint("ticket_id", "key", name=op.f("uq_ticket_metadata_ticket_id_key")),
        comment="Ticket key/value metadata; at most 100 keys per ticket.",
    )
    op.create_index(
        "ix_ticket_metadata_key_value", "ticket_metadata", ["key", "value"], unique=False
    )
    op.create_table(
        "attachments",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False, comment="Hex SHA-256 of the content."),
        sa.Column("filename", sa.Text(), nullable=False, comment="Sanitized original file name."),
        sa.Column(
            "content_type", sa.Text(), nullable=False, comment="Type detected from the bytes."
        ),
        sa.Column("size", sa.BigInteger(), nullable=False, comment="Size in bytes."),
        sa.Column(
            "storage_key",
            sa.Text(),
            nullable=False,
            comment="Key of the blob in the storage backend.",
        ),
        sa.Column("uploaded_by", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "conversation_id",
            sa.UUID(),
            nullable=True,
            comment="Message the file is bound to; null until bound (unbound ones are collected).",
        ),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_attachments_sha256_hex")),
        sa.CheckConstraint(
            "char_length(filename) BETWEEN 1 AND 255", name=op.f("ck_attachments_filename_length")
        ),
        sa.CheckConstraint("size > 0", name=op.f("ck_attachments_size_positive")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_attachments_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["users.id"], name=op.f("fk_attachments_uploaded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        comment="Attachment descriptors; bytes are content-addressed in storage.",
    )
    op.create_index(
        "ix_attachments_conversation_id", "attachments", ["conversation_id"], unique=False
    )
    op.create_index("ix_attachments_sha256", "attachments", ["sha256"], unique=False)
    op.create_index(
        "ix_attachments_unbound_created",
        "attachments",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("conversation_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_attachments_unbound_created",
        table_name="attachments",
        postgresql_where=sa.text("conversation_id IS NULL"),
    )
    op.drop_index("ix_attachments_sha256", table_name="attachments")
    op.drop_index("ix_attachments_conversation_id", table_name="attachments")
    op.drop_table("attachments")
    op.drop_index("ix_ticket_metadata_key_value", table_name="ticket_metadata")
    op.drop_table("ticket_metadata")
    op.drop_index("ix_ticket_history_ticket_id_id", table_name="ticket_history")
    op.drop_index("ix_ticket_history_change_set_id", table_name="ticket_history")
    op.drop_table("ticket_history")
    op.drop_index("ix_conversations_ticket_id_timestamp_id", table_name="conversations")
    op.drop_table("conversations")
    op.drop_index(
        "ix_tickets_status_updated",
        table_name="tickets",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index("ix_tickets_search", table_name="tickets", postgresql_using="gin")
    op.drop_index(
        "ix_tickets_priority_updated",
        table_name="tickets",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index(
        "ix_tickets_live_updated",
        table_name="tickets",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index(
        "ix_tickets_live_created",
        table_name="tickets",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index(
        "ix_tickets_customer_updated",
        table_name="tickets",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index(
        "ix_tickets_assignee_updated",
        table_name="tickets",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_table("tickets")
    op.drop_index("uq_api_keys_key_hash", table_name="api_keys")
    op.drop_index("ix_api_keys_user_id", table_name="api_keys")
    op.drop_index("ix_api_keys_lineage_id", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index("uq_users_email_lower", table_name="users")
    op.drop_index("ix_users_role_created", table_name="users")
    op.drop_table("users")
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_audit_log_request_id", table_name="audit_log")
    op.drop_index("ix_audit_log_occurred_at_brin", table_name="audit_log", postgresql_using="brin")
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    op.drop_index("ix_audit_log_actor", table_name="audit_log")
    op.drop_index("ix_audit_log_action", table_name="audit_log")
    op.drop_table("audit_log")
