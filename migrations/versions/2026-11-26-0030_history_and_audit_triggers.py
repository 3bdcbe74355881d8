"""Ticket history and audit triggers, runtime role grants, audit archives and seals.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 00:30:00+00:00

- ``helpline_change_set_id()``: one UUID per transaction *and* request id, kept in the
  transaction-local setting ``helpline.change_set_id`` (keyed by both so that requests nested in one
  outer transaction, as in the test harness, still get one change set each).
- History triggers (AFTER, per row) on tickets, ticket_metadata and conversations write
  ``ticket_history`` rows — one per changed field, none for an unchanged one.
- Audit triggers on tickets, ticket_metadata, conversations, users and api_keys write
  ``audit_log`` rows with the actor context. Secrets (``key_hash``, ``password_hash``) never reach
  the row: a password change is recorded as ``"password_hash": "[changed]"``. Pure bookkeeping
  updates (``api_keys.last_used_at``, ``users.last_login_at``, a ticket's touch of
  ``updated_at``/``version``) write nothing, so key use is not a write amplifier.
- Roles: ``helpline_runtime`` (NOLOGIN group role; the service's login role is a member) may
  SELECT/INSERT/UPDATE/DELETE domain tables but only SELECT/INSERT ``audit_log`` and
  ``ticket_history`` and only SELECT ``audit_archives``/``audit_seals``; no privileges at all on
  audit partitions. The migration creates the role when it may (superuser or CREATEROLE) and fails
  with a clear message otherwise. Roles are cluster-wide, so downgrade revokes but never drops it.
- ``helpline_ensure_audit_partitions`` is redefined to revoke runtime privileges on new partitions.
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "helpline_runtime"
PROTECTED = ("audit_log", "ticket_history")
READ_ONLY = ("audit_archives", "audit_seals", "alembic_version")

ACTOR_FUNCTIONS = r"""
CREATE FUNCTION helpline_change_set_id() RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    scope text := pg_current_xact_id()::text || '/'
                  || coalesce(current_setting('helpline.request_id', true), '');
    current text := coalesce(current_setting('helpline.change_set_id', true), '');
    fresh uuid;
BEGIN
    IF split_part(current, '|', 1) = scope THEN
        RETURN split_part(current, '|', 2)::uuid;
    END IF;
    fresh := gen_random_uuid();
    PERFORM set_config('helpline.change_set_id', scope || '|' || fresh::text, true);
    RETURN fresh;
END $$;

CREATE FUNCTION helpline_setting(name text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('helpline.' || name, true), '')
$$;

-- The acting user: for user and api_key actors actor_id is the user (the key's owner).
CREATE FUNCTION helpline_actor_user() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN helpline_setting('actor_type') IN ('user', 'api_key')
                THEN helpline_setting('actor_id')::uuid END
$$;

CREATE FUNCTION helpline_history(
    p_ticket uuid, p_type text, p_old jsonb, p_new jsonb
) RETURNS void LANGUAGE sql AS $$
    INSERT INTO ticket_history
        (ticket_id, change_type, changed_by, old_value, new_value, change_set_id, request_id)
    VALUES (p_ticket, p_type, helpline_actor_user(), p_old, p_new, helpline_change_set_id(),
            helpline_setting('request_id'))
$$;

-- Changed keys only: {"column": [old, new]}; NULL when nothing changed.
CREATE FUNCTION helpline_jsonb_diff(p_old jsonb, p_new jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_object_agg(n.key, jsonb_build_array(o.value, n.value))
      FROM jsonb_each(p_new) n JOIN jsonb_each(p_old) o USING (key)
     WHERE n.value IS DISTINCT FROM o.value
$$;

CREATE FUNCTION helpline_audit(
    p_action text, p_entity_type text, p_entity_id text, p_changes jsonb
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    actor_type text := coalesce(helpline_setting('actor_type'), 'system');
    ip text := helpline_setting('ip');
    changes jsonb := p_changes;
BEGIN
    IF helpline_setting('actor_type') IS NULL THEN
        -- No actor context: a direct database change. Record which role made it.
        changes := coalesce(changes, '{}'::jsonb) || jsonb_build_object('db_user', session_user);
    END IF;
    INSERT INTO audit_log
        (actor_type, actor_id, api_key_id, action, entity_type, entity_id, request_id, ip,
         changes, outcome)
    VALUES (actor_type,
            CASE WHEN actor_type IN ('user', 'api_key') THEN helpline_setting('actor_id')::uuid END,
            helpline_setting('api_key_id')::uuid,
            p_action, p_entity_type, p_entity_id, helpline_setting('request_id'),
            CASE WHEN ip ~ '^[0-9A-Fa-f:.]{2,45}$' THEN ip::inet END,
            changes, 'success');
END $$;
"""

TRIGGER_FUNCTIONS = r"""
CREATE FUNCTION tickets_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM helpline_history(NEW.id, 'created', NULL, jsonb_build_object(
            'title', NEW.title, 'status', NEW.status, 'priority', NEW.priority,
            'assigned_to', NEW.assigned_to, 'customer_id', NEW.customer_id));
        RETURN NULL;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM helpline_history(NEW.id, 'status_changed', to_jsonb(OLD.status),
                                 to_jsonb(NEW.status));
    END IF;
    IF NEW.priority IS DISTINCT FROM OLD.priority THEN
        PERFORM helpline_history(NEW.id, 'priority_changed', to_jsonb(OLD.priority),
                                 to_jsonb(NEW.priority));
    END IF;
    IF NEW.assigned_to IS DISTINCT FROM OLD.assigned_to THEN
        PERFORM helpline_history(NEW.id, 'assignee_changed', to_jsonb(OLD.assigned_to),
                                 to_jsonb(NEW.assigned_to));
    END IF;
    IF NEW.title IS DISTINCT FROM OLD.title THEN
        PERFORM helpline_history(NEW.id, 'title_changed', to_jsonb(OLD.title),
                                 to_jsonb(NEW.title));
    END IF;
    IF NEW.description IS DISTINCT FROM OLD.description THEN
        PERFORM helpline_history(NEW.id, 'description_changed', to_jsonb(OLD.description),
                                 to_jsonb(NEW.description));
    END IF;
    IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
        PERFORM helpline_history(NEW.id, 'deleted', NULL, to_jsonb(NEW.deleted_at));
    ELSIF OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN
        PERFORM helpline_history(NEW.id, 'restored', to_jsonb(OLD.deleted_at), NULL);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION ticket_metadata_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM helpline_history(NEW.ticket_id, 'metadata_set', NULL,
                                 jsonb_build_object('key', NEW.key, 'value', NEW.value));
    ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.value IS DISTINCT FROM OLD.value OR NEW.key IS DISTINCT FROM OLD.key THEN
            PERFORM helpline_history(NEW.ticket_id, 'metadata_set',
                                     jsonb_build_object('key', OLD.key, 'value', OLD.value),
                                     jsonb_build_object('key', NEW.key, 'value', NEW.value));
        END IF;
    -- A cascade from a hard-deleted ticket: the ticket (and its history) is gone.
    ELSIF EXISTS (SELECT 1 FROM tickets WHERE id = OLD.ticket_id) THEN
        PERFORM helpline_history(OLD.ticket_id, 'metadata_removed',
                                 jsonb_build_object('key', OLD.key, 'value', OLD.value), NULL);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION conversations_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM helpline_history(NEW.ticket_id, 'message_added', NULL, jsonb_build_object(
        'message_id', NEW.id, 'sender_id', NEW.sender_id, 'sender_type', NEW.sender_type,
        'is_internal', NEW.is_internal, 'excerpt', left(NEW.message, 200)));
    RETURN NULL;
END $$;

CREATE FUNCTION tickets_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb;
    action text := 'ticket.updated';
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM helpline_audit('ticket.created', 'ticket', NEW.id::text,
                               to_jsonb(NEW) - 'search_vector');
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM helpline_audit('ticket.purged', 'ticket', OLD.id::text,
                               to_jsonb(OLD) - 'search_vector');
    ELSE
        changes := helpline_jsonb_diff(
            to_jsonb(OLD) - '{search_vector,updated_at,version}'::text[],
            to_jsonb(NEW) - '{search_vector,updated_at,version}'::text[]);
        IF changes IS NULL THEN
            RETURN NULL;  -- a touch by a metadata or message change, audited there
        END IF;
        IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
            action := 'ticket.deleted';
        ELSIF OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN
            action := 'ticket.restored';
        END IF;
        PERFORM helpline_audit(action, 'ticket', NEW.id::text,
                               changes || jsonb_build_object('version', NEW.version));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION ticket_metadata_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM helpline_audit('ticket.metadata_removed', 'ticket', OLD.ticket_id::text,
                               jsonb_build_object('key', OLD.key, 'value', OLD.value));
    ELSIF TG_OP = 'INSERT' OR NEW.value IS DISTINCT FROM OLD.value THEN
        PERFORM helpline_audit('ticket.metadata_set', 'ticket', NEW.ticket_id::text,
            jsonb_build_object('key', NEW.key, 'value', NEW.value,
                               'old_value', CASE WHEN TG_OP = 'UPDATE' THEN OLD.value END));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION conversations_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM helpline_audit('ticket.message_added', 'ticket', NEW.ticket_id::text,
            jsonb_build_object('message_id', NEW.id, 'sender_id', NEW.sender_id,
                               'sender_type', NEW.sender_type, 'is_internal', NEW.is_internal,
                               'length', char_length(NEW.message),
                               'attachments', jsonb_array_length(NEW.attachments)));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM helpline_audit('ticket.message_updated', 'ticket', NEW.ticket_id::text,
            jsonb_build_object('message_id', NEW.id)
            || coalesce(helpline_jsonb_diff(to_jsonb(OLD) - 'message', to_jsonb(NEW) - 'message'),
                        '{}'::jsonb)
            || CASE WHEN NEW.message IS DISTINCT FROM OLD.message
                    THEN '{"message": "[changed]"}'::jsonb ELSE '{}'::jsonb END);
    ELSE
        PERFORM helpline_audit('ticket.message_deleted', 'ticket', OLD.ticket_id::text,
                               jsonb_build_object('message_id', OLD.id));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION users_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb;
    action text := 'user.updated';
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM helpline_audit('user.created', 'user', NEW.id::text,
            (to_jsonb(NEW) - 'password_hash')
            || jsonb_build_object('has_password', NEW.password_hash IS NOT NULL));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM helpline_audit('user.deleted', 'user', OLD.id::text,
                               to_jsonb(OLD) - 'password_hash');
    ELSE
        changes := helpline_jsonb_diff(
            to_jsonb(OLD) - '{password_hash,updated_at,last_login_at}'::text[],
            to_jsonb(NEW) - '{password_hash,updated_at,last_login_at}'::text[]);
        IF NEW.password_hash IS DISTINCT FROM OLD.password_hash THEN
            changes := coalesce(changes, '{}'::jsonb) || '{"password_hash": "[changed]"}';
            action := 'user.password_changed';
        END IF;
        IF changes IS NULL THEN
            RETURN NULL;  -- last_login_at bookkeeping: the login itself is an auth event
        END IF;
        IF OLD.is_active AND NOT NEW.is_active THEN
            action := 'user.deactivated';
        ELSIF NOT OLD.is_active AND NEW.is_active THEN
            action := 'user.reactivated';
        END IF;
        PERFORM helpline_audit(action, 'user', NEW.id::text, changes);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION api_keys_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb;
    action text := 'api_key.updated';
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM helpline_audit(
            CASE WHEN NEW.rotated_from_id IS NULL THEN 'api_key.created' ELSE 'api_key.rotated' END,
            'api_key', NEW.id::text, to_jsonb(NEW) - '{key_hash,last_used_at}'::text[]);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM helpline_audit('api_key.deleted', 'api_key', OLD.id::text,
                               to_jsonb(OLD) - '{key_hash,last_used_at}'::text[]);
    ELSE
        changes := helpline_jsonb_diff(to_jsonb(OLD) - '{key_hash,last_used_at}'::text[],
                                       to_jsonb(NEW) - '{key_hash,last_used_at}'::text[]);
        IF NEW.key_hash IS DISTINCT FROM OLD.key_hash THEN
            changes := coalesce(changes, '{}'::jsonb) || '{"key_hash": "[changed]"}';
        END IF;
        IF changes IS NULL THEN
            RETURN NULL;  -- last_used_at bookkeeping on every request: never audited
        END IF;
        IF OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL THEN
            action := 'api_key.revoked';
        END IF;
        PERFORM helpline_audit(action, 'api_key', NEW.id::text, changes);
    END IF;
    RETURN NULL;
END $$;
"""

TRIGGERS = (
    ("tickets_history", "tickets", "INSERT OR UPDATE"),
    ("ticket_metadata_history", "ticket_metadata", "INSERT OR UPDATE OR DELETE"),
    ("conversations_history", "conversations", "INSERT"),
    ("tickets_audit", "tickets", "INSERT OR UPDATE OR DELETE"),
    ("ticket_metadata_audit", "ticket_metadata", "INSERT OR UPDATE OR DELETE"),
    ("conversations_audit", "conversations", "INSERT OR UPDATE OR DELETE"),
    ("users_audit", "users", "INSERT OR UPDATE OR DELETE"),
    ("api_keys_audit", "api_keys", "INSERT OR UPDATE OR DELETE"),
)

FUNCTIONS = (
    "api_keys_audit()",
    "users_audit()",
    "conversations_audit()",
    "ticket_metadata_audit()",
    "tickets_audit()",
    "conversations_history()",
    "ticket_metadata_history()",
    "tickets_history()",
    "helpline_audit(text, text, text, jsonb)",
    "helpline_jsonb_diff(jsonb, jsonb)",
    "helpline_history(uuid, text, jsonb, jsonb)",
    "helpline_actor_user()",
    "helpline_setting(text)",
    "helpline_change_set_id()",
)

ENSURE_PARTITIONS = """
CREATE OR REPLACE FUNCTION helpline_ensure_audit_partitions(start_month date, months integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    first date := date_trunc('month', start_month)::date;
    created integer := 0;
    lower_bound date;
    part text;
BEGIN
    FOR i IN 0 .. months - 1 LOOP
        lower_bound := (first + make_interval(months => i))::date;
        part := 'audit_log_p' || to_char(lower_bound, 'YYYYMM');
        IF to_regclass(part) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF audit_log FOR VALUES FROM (%L) TO (%L)',
                part, lower_bound, (lower_bound + interval '1 month')::date);
            {revoke}
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;
"""

REVOKE_ON_PART = (
    "IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'helpline_runtime') THEN "
    "EXECUTE format('REVOKE ALL ON %I FROM helpline_runtime', part); END IF;"
)


def statements(sql: str) -> list[str]:
    """asyncpg runs one statement per call: split a script at each CREATE FUNCTION."""
    return [part.strip() for part in re.split(r"\n(?=CREATE FUNCTION)", sql) if part.strip()]


def upgrade() -> None:
    op.create_table(
        "audit_archives",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("partition_name", sa.Text(), nullable=False, comment="e.g. audit_log_p202501."),
        sa.Column(
            "range_start",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="Inclusive lower bound of occurred_at.",
        ),
        sa.Column(
            "range_end",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="Exclusive upper bound of occurred_at.",
        ),
        sa.Column("row_count", sa.BigInteger(), nullable=False, comment="Rows in the archive."),
        sa.Column(
            "file_path", sa.Text(), nullable=False, comment="Archive file (gzip JSON Lines)."
        ),
        sa.Column("sha256", sa.Text(), nullable=False, comment="Hex SHA-256 of the archive file."),
        sa.Column(
            "size_bytes", sa.BigInteger(), nullable=False, comment="Size of the archive file."
        ),
        sa.Column(
            "archived_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_audit_archives_sha256_hex")),
        sa.CheckConstraint("range_start < range_end", name=op.f("ck_audit_archives_range_ordered")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_archives")),
        sa.UniqueConstraint("partition_name", name=op.f("uq_audit_archives_partition_name")),
        comment="Audit partitions exported by `helpline audit rotate`, with their SHA-256.",
    )
    op.create_table(
        "audit_seals",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "range_start",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="First sealed hour (inclusive).",
        ),
        sa.Column(
            "range_end",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="End of the last sealed hour (exclusive).",
        ),
        sa.Column(
            "row_count", sa.BigInteger(), nullable=False, comment="Rows covered by the seal."
        ),
        sa.Column(
            "buckets",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment='Non-empty hours: {"<hour ISO>": [row count, hex SHA-256]}.',
        ),
        sa.Column("digest", sa.Text(), nullable=False, comment="SHA-256 of range and buckets."),
        sa.Column("prev_chain", sa.Text(), nullable=True, comment="Chain value of the prior seal."),
        sa.Column("chain", sa.Text(), nullable=False, comment="SHA-256(prev_chain + digest)."),
        sa.Column(
            "sealed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("chain ~ '^[0-9a-f]{64}$'", name=op.f("ck_audit_seals_chain_hex")),
        sa.CheckConstraint("range_start < range_end", name=op.f("ck_audit_seals_range_ordered")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_seals")),
        comment="Hash-chained digests of sealed audit_log hours (see ADR 0001).",
    )
    op.create_index("ix_audit_log_occurred_at_id", "audit_log", ["occurred_at", "id"], unique=False)

    for statement in statements(ACTOR_FUNCTIONS) + statements(TRIGGER_FUNCTIONS):
        op.execute(statement)
    for function, table, events in TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {function} AFTER {events} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
    op.execute(ENSURE_PARTITIONS.replace("{revoke}", REVOKE_ON_PART))

    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{RUNTIME_ROLE}') THEN
                BEGIN
                    CREATE ROLE {RUNTIME_ROLE} NOLOGIN;
                EXCEPTION
                    WHEN insufficient_privilege THEN
                        RAISE EXCEPTION 'role {RUNTIME_ROLE} does not exist and % may not '
                            'create it: run "CREATE ROLE {RUNTIME_ROLE} NOLOGIN" as a superuser '
                            '(see docs/audit.md), then migrate again', current_user;
                    WHEN duplicate_object THEN NULL;  -- created concurrently by another database
                END;
            END IF;
        END $$;
        """  # noqa: S608 - constant role name
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {RUNTIME_ROLE}")
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {RUNTIME_ROLE}"
    )
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {RUNTIME_ROLE}")
    # Tables added by later migrations are usable by the service without a grant of their own.
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {RUNTIME_ROLE}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {RUNTIME_ROLE}"
    )
    for table in PROTECTED:
        op.execute(f"REVOKE ALL ON {table} FROM {RUNTIME_ROLE}")
        op.execute(f"GRANT SELECT, INSERT ON {table} TO {RUNTIME_ROLE}")
    for table in READ_ONLY:
        op.execute(f"REVOKE ALL ON {table} FROM {RUNTIME_ROLE}")
        op.execute(f"GRANT SELECT ON {table} TO {RUNTIME_ROLE}")
    op.execute(
        f"""
        DO $$
        DECLARE part record;
        BEGIN
            FOR part IN SELECT c.relname FROM pg_inherits i
                JOIN pg_class c ON c.oid = i.inhrelid
                JOIN pg_class p ON p.oid = i.inhparent
               WHERE p.relname = 'audit_log'
            LOOP
                EXECUTE format('REVOKE ALL ON %I FROM {RUNTIME_ROLE}', part.relname);
            END LOOP;
        END $$;
        """  # noqa: S608 - constant role name
    )


def downgrade() -> None:
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {RUNTIME_ROLE}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM {RUNTIME_ROLE}"  # noqa: S608
    )
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {RUNTIME_ROLE}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {RUNTIME_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {RUNTIME_ROLE}")
    # The role itself stays: roles are cluster-wide and other databases may still use it.
    op.execute(ENSURE_PARTITIONS.replace("{revoke}", ""))
    for function, table, _ in reversed(TRIGGERS):
        op.execute(f"DROP TRIGGER {function} ON {table}")
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    op.drop_index("ix_audit_log_occurred_at_id", table_name="audit_log")
    op.drop_table("audit_seals")
    op.drop_table("audit_archives")
