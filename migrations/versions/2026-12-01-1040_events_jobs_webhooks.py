"""Change feed (events + triggers), procrastinate's job schema, webhook endpoints and deliveries.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:40:00+00:00

- ``events``: one row per committed ticket change, written by AFTER triggers on tickets,
  ticket_metadata, conversations and attachments (ordinary triggers next to the history and
  audit ones, so REST, GraphQL, CLI and direct SQL are all covered). ``xid`` is the writing
  transaction's id; the feed orders by (xid, id) and shows a row only once every transaction with
  a smaller id has ended (see docs/adr/0004-events-and-webhooks.md).
- ``helpline_emit_event()`` also writes one ``webhook_deliveries`` row per matching enabled
  endpoint and defers a procrastinate job for each, in the same transaction: a rolled-back
  change neither announces nor enqueues anything.
- procrastinate 3.10.0's schema is applied from the vendored copy in ``migrations/sql/`` (checked
  by SHA-256), so a later procrastinate upgrade adds its own migration instead of silently
  changing this one. Downgrade drops every procrastinate object.
"""

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROCRASTINATE_SCHEMA = Path(__file__).parent.parent / "sql" / "procrastinate-3.10.0-schema.sql"
PROCRASTINATE_SHA256 = "c70ec4b400a60ad9592787653aae5ae77ae41bf801d56b5bd2712751a07f2009"
EVENT_TYPES = (
    "ticket.created",
    "ticket.updated",
    "ticket.deleted",
    "message.created",
    "metadata.changed",
    "attachment.added",
)

EMIT = r"""
CREATE FUNCTION helpline_emit_event(
    p_type text, p_ticket uuid, p_internal boolean, p_data jsonb
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    ev_id bigint;
    ev_xid bigint;
    job_ids bigint[];
BEGIN
    INSERT INTO events (type, ticket_id, internal, actor_id, request_id, data)
    VALUES (p_type, p_ticket, p_internal, helpline_actor_user(), helpline_setting('request_id'),
            p_data)
    RETURNING id, xid INTO ev_id, ev_xid;
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled) THEN
        RETURN;
    END IF;
    WITH delivery AS (
        INSERT INTO webhook_deliveries (endpoint_id, event_id, event_xid, ticket_id)
        SELECT w.id, ev_id, ev_xid, p_ticket
          FROM webhook_endpoints w
         WHERE w.enabled AND (cardinality(w.event_types) = 0 OR p_type = ANY (w.event_types))
        RETURNING endpoint_id
    )
    SELECT procrastinate_defer_jobs_v1(array_agg(ROW(
               'webhooks', 'helpline:deliver_webhooks', 0,
               'webhook:' || endpoint_id || ':' || p_ticket, NULL,
               jsonb_build_object('endpoint_id', endpoint_id, 'ticket_id', p_ticket), NULL
           )::procrastinate_job_to_defer_v1))
      INTO job_ids
      FROM delivery
    HAVING count(*) > 0;
END $$;
"""

TRIGGER_FUNCTIONS = r"""
CREATE FUNCTION tickets_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb := '{}'::jsonb;
BEGIN
    -- Columns one by one: cheaper than diffing whole rows (to_jsonb would also render the
    -- search_vector, and the description up to 100,000 characters, on every update).
    IF TG_OP = 'INSERT' THEN
        PERFORM helpline_emit_event('ticket.created', NEW.id, false, jsonb_build_object(
            'id', NEW.id, 'title', NEW.title, 'status', NEW.status, 'priority', NEW.priority,
            'assigned_to', NEW.assigned_to, 'customer_id', NEW.customer_id,
            'created_at', NEW.created_at, 'updated_at', NEW.updated_at, 'version', NEW.version,
            'deleted_at', NEW.deleted_at));
        RETURN NULL;
    END IF;
    IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
        PERFORM helpline_emit_event('ticket.deleted', NEW.id, false,
            jsonb_build_object('version', NEW.version, 'deleted_at', NEW.deleted_at));
        RETURN NULL;
    END IF;
    IF NEW.title IS DISTINCT FROM OLD.title THEN
        changes := changes || jsonb_build_object('title', jsonb_build_array(OLD.title, NEW.title));
    END IF;
    IF NEW.description IS DISTINCT FROM OLD.description THEN
        changes := changes || jsonb_build_object(
            'description', jsonb_build_array(OLD.description, NEW.description));
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        changes := changes || jsonb_build_object(
            'status', jsonb_build_array(OLD.status, NEW.status));
    END IF;
    IF NEW.priority IS DISTINCT FROM OLD.priority THEN
        changes := changes || jsonb_build_object(
            'priority', jsonb_build_array(OLD.priority, NEW.priority));
    END IF;
    IF NEW.assigned_to IS DISTINCT FROM OLD.assigned_to THEN
        changes := changes || jsonb_build_object(
            'assigned_to', jsonb_build_array(OLD.assigned_to, NEW.assigned_to));
    END IF;
    IF NEW.customer_id IS DISTINCT FROM OLD.customer_id THEN
        changes := changes || jsonb_build_object(
            'customer_id', jsonb_build_array(OLD.customer_id, NEW.customer_id));
    END IF;
    IF NEW.deleted_at IS DISTINCT FROM OLD.deleted_at THEN  -- a restore
        changes := changes || jsonb_build_object(
            'deleted_at', jsonb_build_array(OLD.deleted_at, NEW.deleted_at));
    END IF;
    IF changes <> '{}'::jsonb THEN  -- empty: a touch by a metadata or message change
        PERFORM helpline_emit_event('ticket.updated', NEW.id, false,
            jsonb_build_object('version', NEW.version, 'changes', changes));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION ticket_metadata_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM helpline_emit_event('metadata.changed', NEW.ticket_id, false,
            jsonb_build_object('key', NEW.key, 'value', NEW.value, 'old_value', NULL,
                               'removed', false));
    ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.value IS DISTINCT FROM OLD.value THEN
            PERFORM helpline_emit_event('metadata.changed', NEW.ticket_id, false,
                jsonb_build_object('key', NEW.key, 'value', NEW.value, 'old_value', OLD.value,
                                   'removed', false));
        END IF;
    -- A cascade from a hard-deleted ticket announces nothing: the ticket is gone.
    ELSIF EXISTS (SELECT 1 FROM tickets WHERE id = OLD.ticket_id) THEN
        PERFORM helpline_emit_event('metadata.changed', OLD.ticket_id, false,
            jsonb_build_object('key', OLD.key, 'value', NULL, 'old_value', OLD.value,
                               'removed', true));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION conversations_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM helpline_emit_event('message.created', NEW.ticket_id, NEW.is_internal,
        jsonb_build_object('message_id', NEW.id, 'sender_id', NEW.sender_id,
                           'sender_type', NEW.sender_type, 'is_internal', NEW.is_internal,
                           'timestamp', NEW.timestamp, 'excerpt', left(NEW.message, 1000),
                           'length', char_length(NEW.message)));
    RETURN NULL;
END $$;

CREATE FUNCTION attachments_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    msg record;
BEGIN
    IF NEW.conversation_id IS NULL OR NEW.conversation_id IS NOT DISTINCT FROM OLD.conversation_id
    THEN
        RETURN NULL;
    END IF;
    SELECT ticket_id, is_internal INTO msg FROM conversations WHERE id = NEW.conversation_id;
    IF FOUND THEN
        PERFORM helpline_emit_event('attachment.added', msg.ticket_id, msg.is_internal,
            jsonb_build_object('attachment_id', NEW.id, 'message_id', NEW.conversation_id,
                               'filename', NEW.filename, 'content_type', NEW.content_type,
                               'size', NEW.size, 'sha256', NEW.sha256));
    END IF;
    RETURN NULL;
END $$;
"""

TRIGGERS = (
    ("tickets_events", "tickets", "INSERT OR UPDATE"),
    ("ticket_metadata_events", "ticket_metadata", "INSERT OR UPDATE OR DELETE"),
    ("conversations_events", "conversations", "INSERT"),
    ("attachments_events", "attachments", "UPDATE OF conversation_id"),
)
FUNCTIONS = (
    "attachments_events()",
    "conversations_events()",
    "ticket_metadata_events()",
    "tickets_events()",
    "helpline_emit_event(text, uuid, boolean, jsonb)",
)


def statements(sql: str) -> list[str]:
    return [part.strip() for part in re.split(r"\n(?=CREATE FUNCTION)", sql) if part.strip()]


def procrastinate_schema() -> str:
    sql = PROCRASTINATE_SCHEMA.read_text(encoding="utf-8")
    digest = hashlib.sha256(sql.encode()).hexdigest()
    if digest != PROCRASTINATE_SHA256:
        raise RuntimeError(f"{PROCRASTINATE_SCHEMA.name} changed (sha256 {digest})")
    return sql


def run_script(sql: str) -> None:
    """Run a multi-statement script on the migration's own connection (same transaction)."""
    raw: Any = op.get_bind().connection.dbapi_connection
    raw.run_async(lambda conn: conn.execute(sql))


def procrastinate_objects(sql: str) -> tuple[list[str], list[str], list[str]]:
    tables = re.findall(r"^CREATE TABLE (\w+)", sql, flags=re.M)
    types = re.findall(r"^CREATE TYPE (\w+)", sql, flags=re.M)
    functions = re.findall(r"^CREATE FUNCTION (\w+)", sql, flags=re.M)
    return tables, types, functions


def upgrade() -> None:
    run_script(procrastinate_schema())

    quoted = ", ".join(f"'{t}'" for t in EVENT_TYPES)
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "xid",
            sa.BigInteger(),
            server_default=sa.text("(pg_current_xact_id()::text)::bigint"),
            nullable=False,
            comment="Writing transaction id (xid8); with id the feed position.",
        ),
        sa.Column(
            "occurred_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "type", sa.Text(), nullable=False, comment="ticket.created, message.created, ..."
        ),
        sa.Column("ticket_id", sa.UUID(), nullable=False, comment="The ticket it concerns."),
        sa.Column(
            "internal",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="About an internal note (staff only).",
        ),
        sa.Column(
            "actor_id", sa.UUID(), nullable=True, comment="Acting user; null for system changes."
        ),
        sa.Column("request_id", sa.Text(), nullable=True, comment="Request that made the change."),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="What changed (shape per type).",
        ),
        sa.CheckConstraint(f"type IN ({quoted})", name=op.f("ck_events_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        comment="Change feed: one row per committed ticket change, in (xid, id) order.",
    )
    op.create_index("ix_events_xid_id", "events", ["xid", "id"], unique=False)
    op.create_index(
        "ix_events_occurred_at", "events", ["occurred_at"], unique=False, postgresql_using="brin"
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False, comment="Target URL (http or https)."),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "event_types",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
            comment="Types delivered; empty = all.",
        ),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "secret",
            sa.Text(),
            nullable=False,
            comment="Signing secret (whsec_...); never returned.",
        ),
        sa.Column(
            "previous_secret",
            sa.Text(),
            nullable=True,
            comment="The secret before the last rotation, also signed with until it expires.",
        ),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True, comment="Why it was disabled."),
        sa.Column(
            "consecutive_failures", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "failing_since",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="First failure of the current failure streak.",
        ),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("url ~ '^https?://'", name=op.f("ck_webhook_endpoints_url_http")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_webhook_endpoints_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
        comment="Webhook endpoints: URL, event types, signing secrets, health.",
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("endpoint_id", sa.UUID(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "event_xid", sa.BigInteger(), nullable=False, comment="The event's xid (order key)."
        ),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_latency_ms", sa.Integer(), nullable=True),
        sa.Column("last_response_excerpt", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')",
            name=op.f("ck_webhook_deliveries_status"),
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_webhook_deliveries_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        comment="Webhook deliveries, written with the event; updated by the worker.",
    )
    op.create_index(
        "ix_webhook_deliveries_pending",
        "webhook_deliveries",
        ["endpoint_id", "ticket_id", "event_xid", "event_id"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint_id_id",
        "webhook_deliveries",
        ["endpoint_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_webhook_deliveries_event_id", "webhook_deliveries", ["event_id"], unique=False
    )

    for statement in [EMIT.strip(), *statements(TRIGGER_FUNCTIONS)]:
        op.execute(statement)
    for function, table, events in TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {function} AFTER {events} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
    # The runtime role: the service and worker read and write jobs, events and deliveries
    # (0003's default privileges cover tables made by the migration owner; say it explicitly).
    op.execute(
        """
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'helpline_runtime') THEN
                GRANT SELECT, INSERT, UPDATE, DELETE ON events, webhook_endpoints,
                    webhook_deliveries, procrastinate_jobs, procrastinate_workers,
                    procrastinate_periodic_defers, procrastinate_events TO helpline_runtime;
                GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO helpline_runtime;
            END IF;
        END $$;
        """
    )


def downgrade() -> None:
    for function, table, _ in reversed(TRIGGERS):
        op.execute(f"DROP TRIGGER {function} ON {table}")
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    op.drop_index("ix_webhook_deliveries_event_id", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_endpoint_id_id", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_pending", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_index("ix_events_occurred_at", table_name="events", postgresql_using="brin")
    op.drop_index("ix_events_xid_id", table_name="events")
    op.drop_table("events")

    tables, types, functions = procrastinate_objects(procrastinate_schema())
    for table in reversed(tables):
        op.execute(f"DROP TABLE {table} CASCADE")
    for function in functions:
        op.execute(f"DROP FUNCTION IF EXISTS {function} CASCADE")
    for type_ in reversed(types):
        op.execute(f"DROP TYPE {type_}")
