"""One change trigger per table: history, audit and feed rows in one pass; no tsvector per touch.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 11:00:00+00:00

Until now a ticket write fired a BEFORE trigger and three AFTER triggers per row (history, audit,
events), a message three more, and every one of them ran even for the ticket *touch* that a new
message or metadata change makes (``updated_at`` only), where each of them found nothing to
record — the audit one after rendering both rows to JSON. Now:

- ``tickets_changes()`` (migrations/lib/ticket_changes.py, generated from the one list of tracked
  fields): one row trigger ``AFTER INSERT OR DELETE OR UPDATE OF <tracked columns>``, so a
  touch does not fire it at all; it writes exactly the rows the three did.
- ``conversations_changes()``: a statement trigger with a transition table for inserts (a bulk
  import writes its history, audit and event rows with one INSERT … SELECT each) and a row
  trigger for the rare updates and deletes (audit only, as before).
- ``ticket_metadata_changes()``: statement triggers with transition tables for insert, update
  (``ON CONFLICT DO UPDATE`` included) and delete (a purged ticket's cascade).
- ``attachments_changes()``: audit and ``attachment.added`` in one row trigger.
- ``search_vector`` is no longer a generated column: PostgreSQL 15 recomputes every stored
  generated column on every UPDATE of a table that has a BEFORE ROW UPDATE trigger (the
  version trigger), so each touch ran ``to_tsvector`` over title and description. It is now a
  plain column that ``tickets_before_write()`` (the version trigger, which also runs on INSERT)
  computes only when title or description change (fired ALWAYS, so bulk loads under
  ``session_replication_role = replica`` get it too). ``DROP EXPRESSION`` keeps the values: no
  rewrite, instant on a live table.
- Indexes no query needs are dropped (docs/performance/write-path.md has the evidence).

The superseded trigger functions stay (unused) so that downgrade reattaches them unchanged;
downgrade rebuilds ``search_vector`` as a generated column (a table rewrite) and the indexes.
Event, history and audit rows are the same, row for row (tests/migrations/test_change_triggers.py).
"""

import importlib.util
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def load_ticket_changes() -> ModuleType:
    path = Path(__file__).parent.parent / "lib" / "ticket_changes.py"
    spec = importlib.util.spec_from_file_location("helpline_migrations_ticket_changes", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('english'::regconfig, title), 'A') || "
    "setweight(to_tsvector('english'::regconfig, description), 'B')"
)

BEFORE_WRITE = rf"""
CREATE FUNCTION tickets_before_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.search_vector := {
    SEARCH_VECTOR_SQL.replace("title", "NEW.title").replace("description", "NEW.description")
};
        RETURN NEW;
    END IF;
    IF NEW.title IS DISTINCT FROM OLD.title OR NEW.description IS DISTINCT FROM OLD.description
    THEN
        NEW.search_vector := {
    SEARCH_VECTOR_SQL.replace("title", "NEW.title").replace("description", "NEW.description")
};
    ELSE
        NEW.search_vector := OLD.search_vector;  -- derived: never set by hand
    END IF;
    IF current_setting('session_replication_role') = 'replica' THEN
        RETURN NEW;  -- replicated rows bring their version (fired ALWAYS for search_vector)
    END IF;
    IF (NEW.title, NEW.description, NEW.status, NEW.priority, NEW.assigned_to,
        NEW.customer_id, NEW.deleted_at, NEW.updated_at)
       IS DISTINCT FROM
       (OLD.title, OLD.description, OLD.status, OLD.priority, OLD.assigned_to,
        OLD.customer_id, OLD.deleted_at, OLD.updated_at) THEN
        NEW.version := OLD.version + 1;
        NEW.updated_at := greatest(clock_timestamp(), OLD.updated_at);
    ELSE
        NEW.version := OLD.version;
    END IF;
    RETURN NEW;
END $$
"""

# The actor context, read once per trigger call (helpline_audit() reads it per row).
ACTOR_DECLARE = """
    actor_type text := helpline_setting('actor_type');
    actor uuid := helpline_actor_user();
    api_key uuid := helpline_setting('api_key_id')::uuid;
    request text := helpline_setting('request_id');
    ip_text text := helpline_setting('ip');
    ip inet := CASE WHEN ip_text ~ '^[0-9A-Fa-f:.]{2,45}$' THEN ip_text::inet END;
    -- No actor context: a direct database change; audit rows record which role made it.
    db_user jsonb := CASE WHEN actor_type IS NULL
                          THEN jsonb_build_object('db_user', session_user) ELSE '{}' END;
"""


def audit_rows(action: str, entity: str, changes: str, source: str) -> str:
    return f"""
        INSERT INTO audit_log (actor_type, actor_id, api_key_id, action, entity_type, entity_id,
                               request_id, ip, changes, outcome)
        SELECT coalesce(actor_type, 'system'), actor, api_key, {action}, 'ticket', {entity},
               request, ip, {changes} || db_user, 'success'
          FROM {source};"""  # noqa: S608 - trigger SQL from constants


def event_rows(kind: str, ticket: str, internal: str, data: str, source: str) -> str:
    """Feed rows; through helpline_emit_event() (deliveries, jobs) when a webhook listens."""
    return f"""
        IF EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled) THEN
            PERFORM helpline_emit_event({kind}, {ticket}, {internal}, {data}) FROM {source};
        ELSE
            INSERT INTO events (type, ticket_id, internal, actor_id, request_id, data)
            SELECT {kind}, {ticket}, {internal}, actor, request, {data} FROM {source};
        END IF;"""  # noqa: S608 - trigger SQL from constants


def history_rows(kind: str, ticket: str, old: str, new: str, source: str) -> str:
    return f"""
        INSERT INTO ticket_history (ticket_id, change_type, changed_by, old_value, new_value,
                                    change_set_id, request_id)
        SELECT {ticket}, {kind}, actor, {old}, {new}, helpline_change_set_id(), request
          FROM {source};"""  # noqa: S608 - trigger SQL from constants


MESSAGE_AUDIT = (
    "jsonb_build_object('message_id', n.id, 'sender_id', n.sender_id, 'sender_type',"
    " n.sender_type, 'is_internal', n.is_internal, 'length', char_length(n.message),"
    " 'attachments', jsonb_array_length(n.attachments))"
)
MESSAGE_EVENT = (
    "jsonb_build_object('message_id', n.id, 'sender_id', n.sender_id, 'sender_type',"
    " n.sender_type, 'is_internal', n.is_internal, 'timestamp', n.timestamp, 'excerpt',"
    " left(n.message, 1000), 'length', char_length(n.message), 'channel', n.channel)"
)
MESSAGE_HISTORY = (
    "jsonb_build_object('message_id', n.id, 'sender_id', n.sender_id, 'sender_type',"
    " n.sender_type, 'is_internal', n.is_internal, 'excerpt', left(n.message, 200))"
)

CONVERSATIONS_CHANGES = f"""
CREATE FUNCTION conversations_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE{ACTOR_DECLARE}
BEGIN
    IF TG_LEVEL = 'ROW' THEN  -- an edit or a deletion: audited (the feed has no such event)
        IF TG_OP = 'UPDATE' THEN
            PERFORM helpline_audit('ticket.message_updated', 'ticket', NEW.ticket_id::text,
                jsonb_build_object('message_id', NEW.id)
                || coalesce(helpline_jsonb_diff(to_jsonb(OLD) - 'message',
                                                to_jsonb(NEW) - 'message'), '{{}}'::jsonb)
                || CASE WHEN NEW.message IS DISTINCT FROM OLD.message
                        THEN '{{"message": "[changed]"}}'::jsonb ELSE '{{}}'::jsonb END);
        ELSE
            PERFORM helpline_audit('ticket.message_deleted', 'ticket', OLD.ticket_id::text,
                                   jsonb_build_object('message_id', OLD.id));
        END IF;
        RETURN NULL;
    END IF;
    -- New messages, all rows of the statement at once.
    {audit_rows("'ticket.message_added'", "n.ticket_id::text", MESSAGE_AUDIT, "new_rows n")}
    {event_rows("'message.created'", "n.ticket_id", "n.is_internal", MESSAGE_EVENT, "new_rows n")}
    {history_rows("'message_added'", "n.ticket_id", "NULL", MESSAGE_HISTORY, "new_rows n")}
    RETURN NULL;
END $$
"""

LIVE_TICKET = "EXISTS (SELECT 1 FROM tickets t WHERE t.id = {}.ticket_id)"
PAIRS = "old_rows o JOIN new_rows n ON n.id = o.id"
KEY_VALUE = "jsonb_build_object('key', {0}.key, 'value', {0}.value)"

METADATA_CHANGES = f"""
CREATE FUNCTION ticket_metadata_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE{ACTOR_DECLARE}
BEGIN
    IF TG_OP = 'INSERT' THEN
        {
    audit_rows(
        "'ticket.metadata_set'",
        "n.ticket_id::text",
        "jsonb_build_object('key', n.key, 'value', n.value, 'old_value', NULL)",
        "new_rows n",
    )
}
        {
    event_rows(
        "'metadata.changed'",
        "n.ticket_id",
        "false",
        "jsonb_build_object('key', n.key, 'value', n.value, 'old_value', NULL, 'removed', false)",
        "new_rows n",
    )
}
        {history_rows("'metadata_set'", "n.ticket_id", "NULL", KEY_VALUE.format("n"), "new_rows n")}
    ELSIF TG_OP = 'UPDATE' THEN
        {
    audit_rows(
        "'ticket.metadata_set'",
        "n.ticket_id::text",
        "jsonb_build_object('key', n.key, 'value', n.value, 'old_value', o.value)",
        PAIRS + " WHERE n.value IS DISTINCT FROM o.value",
    )
}
        {
    event_rows(
        "'metadata.changed'",
        "n.ticket_id",
        "false",
        "jsonb_build_object('key', n.key, 'value', n.value, 'old_value', o.value,"
        " 'removed', false)",
        PAIRS + " WHERE n.value IS DISTINCT FROM o.value",
    )
}
        {
    history_rows(
        "'metadata_set'",
        "n.ticket_id",
        KEY_VALUE.format("o"),
        KEY_VALUE.format("n"),
        PAIRS + " WHERE n.value IS DISTINCT FROM o.value OR n.key IS DISTINCT FROM o.key",
    )
}
    ELSE
        {
    audit_rows(
        "'ticket.metadata_removed'", "o.ticket_id::text", KEY_VALUE.format("o"), "old_rows o"
    )
}
        -- A cascade from a hard-deleted ticket: the ticket (its history, its feed) is gone.
        {
    event_rows(
        "'metadata.changed'",
        "o.ticket_id",
        "false",
        "jsonb_build_object('key', o.key, 'value', NULL, 'old_value', o.value, 'removed', true)",
        "old_rows o WHERE " + LIVE_TICKET.format("o"),
    )
}
        {
    history_rows(
        "'metadata_removed'",
        "o.ticket_id",
        KEY_VALUE.format("o"),
        "NULL",
        "old_rows o WHERE " + LIVE_TICKET.format("o"),
    )
}
    END IF;
    RETURN NULL;
END $$
"""

ATTACHMENTS_CHANGES = r"""
CREATE FUNCTION attachments_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    msg record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM helpline_audit('attachment.uploaded', 'attachment', NEW.id::text,
            jsonb_build_object('filename', NEW.filename, 'content_type', NEW.content_type,
                               'size', NEW.size, 'sha256', NEW.sha256));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM helpline_audit('attachment.deleted', 'attachment', OLD.id::text,
            jsonb_build_object('sha256', OLD.sha256, 'size', OLD.size,
                               'was_bound', OLD.conversation_id IS NOT NULL));
    ELSIF NEW.conversation_id IS DISTINCT FROM OLD.conversation_id THEN
        PERFORM helpline_audit('attachment.bound', 'attachment', NEW.id::text,
            jsonb_build_object('conversation_id', NEW.conversation_id,
                               'previous_conversation_id', OLD.conversation_id));
        IF NEW.conversation_id IS NOT NULL THEN
            SELECT ticket_id, is_internal INTO msg FROM conversations
             WHERE id = NEW.conversation_id;
            IF FOUND THEN
                PERFORM helpline_emit_event('attachment.added', msg.ticket_id, msg.is_internal,
                    jsonb_build_object('attachment_id', NEW.id, 'message_id', NEW.conversation_id,
                                       'filename', NEW.filename, 'content_type', NEW.content_type,
                                       'size', NEW.size, 'sha256', NEW.sha256));
            END IF;
        END IF;
    END IF;
    RETURN NULL;
END $$
"""

# (trigger = function name, table, timing and events) of the triggers this migration replaces.
OLD_TRIGGERS = (
    ("tickets_touch", "tickets", "BEFORE UPDATE"),
    ("tickets_audit", "tickets", "AFTER INSERT OR UPDATE OR DELETE"),
    ("tickets_events", "tickets", "AFTER INSERT OR UPDATE"),
    ("tickets_history", "tickets", "AFTER INSERT OR UPDATE"),
    ("conversations_audit", "conversations", "AFTER INSERT OR UPDATE OR DELETE"),
    ("conversations_events", "conversations", "AFTER INSERT"),
    ("conversations_history", "conversations", "AFTER INSERT"),
    ("ticket_metadata_audit", "ticket_metadata", "AFTER INSERT OR UPDATE OR DELETE"),
    ("ticket_metadata_events", "ticket_metadata", "AFTER INSERT OR UPDATE OR DELETE"),
    ("ticket_metadata_history", "ticket_metadata", "AFTER INSERT OR UPDATE OR DELETE"),
    ("attachments_audit", "attachments", "AFTER INSERT OR UPDATE OR DELETE"),
    ("attachments_events", "attachments", "AFTER UPDATE OF conversation_id"),
)
NEW_TRIGGERS = (
    "CREATE TRIGGER tickets_before_write BEFORE INSERT OR UPDATE ON tickets"
    " FOR EACH ROW EXECUTE FUNCTION tickets_before_write()",
    "CREATE TRIGGER conversations_changes_insert AFTER INSERT ON conversations"
    " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION conversations_changes()",
    "CREATE TRIGGER conversations_changes AFTER UPDATE OR DELETE ON conversations"
    " FOR EACH ROW EXECUTE FUNCTION conversations_changes()",
    "CREATE TRIGGER ticket_metadata_changes_insert AFTER INSERT ON ticket_metadata"
    " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION ticket_metadata_changes()",
    "CREATE TRIGGER ticket_metadata_changes_update AFTER UPDATE ON ticket_metadata"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION ticket_metadata_changes()",
    "CREATE TRIGGER ticket_metadata_changes_delete AFTER DELETE ON ticket_metadata"
    " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION ticket_metadata_changes()",
    "CREATE TRIGGER attachments_changes AFTER INSERT OR UPDATE OR DELETE ON attachments"
    " FOR EACH ROW EXECUTE FUNCTION attachments_changes()",
)
NEW_FUNCTIONS = (
    "attachments_changes()",
    "ticket_metadata_changes()",
    "conversations_changes()",
    "tickets_changes()",
    "tickets_before_write()",
)
# Indexes each write paid for and no query needs (docs/performance/write-path.md): name, table,
# definition. priority has four values, none rare: a priority filter walks ix_tickets_live_updated
# (or the status index) and finds its page within a few hundred entries. History is always read
# per ticket (change_set_id narrows ix_ticket_history_ticket_id_id). The audit BRIN duplicates
# ix_audit_log_occurred_at_id, which serves every time range.
DROPPED_INDEXES: tuple[tuple[str, str, str], ...] = (
    (
        "ix_tickets_priority_updated",
        "tickets",
        "CREATE INDEX ix_tickets_priority_updated ON tickets"
        " (priority, updated_at DESC, id DESC) WHERE deleted_at IS NULL",
    ),
    (
        "ix_ticket_history_change_set_id",
        "ticket_history",
        "CREATE INDEX ix_ticket_history_change_set_id ON ticket_history (change_set_id)",
    ),
    (
        "ix_audit_log_occurred_at_brin",
        "audit_log",
        "CREATE INDEX ix_audit_log_occurred_at_brin ON audit_log USING brin (occurred_at)",
    ),
)


def _trigger_names(sql: str) -> str:
    match = re.match(r"CREATE TRIGGER (\w+) .* ON (\w+)", sql)
    assert match is not None
    return f"DROP TRIGGER {match.group(1)} ON {match.group(2)}"


def upgrade() -> None:
    changes = load_ticket_changes()
    fields = changes.TICKET_FIELDS_0012
    for name, table, _ in OLD_TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON {table}")
    op.execute("ALTER TABLE tickets ALTER COLUMN search_vector DROP EXPRESSION")
    op.execute(
        "COMMENT ON COLUMN tickets.search_vector IS 'Full-text vector: title (weight A) and "
        "description (weight B); maintained by tickets_before_write().'"
    )
    for sql in (
        BEFORE_WRITE, CONVERSATIONS_CHANGES, METADATA_CHANGES, ATTACHMENTS_CHANGES,
        changes.create_function(fields),
    ):  # fmt: skip
        op.execute(sql.strip())
    for sql in (*NEW_TRIGGERS, changes.create_trigger(fields)):
        op.execute(sql)
    # A derived column is derived whatever the session_replication_role, like a generated one.
    op.execute("ALTER TABLE tickets ENABLE ALWAYS TRIGGER tickets_before_write")
    for name, _table, _definition in DROPPED_INDEXES:
        op.execute(f"DROP INDEX {name}")


def downgrade() -> None:
    for _name, _table, definition in DROPPED_INDEXES:
        op.execute(definition)
    op.execute("DROP TRIGGER tickets_changes ON tickets")
    for sql in NEW_TRIGGERS:
        op.execute(_trigger_names(sql))
    for signature in NEW_FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    # Back to a generated column: a rewrite of tickets and a rebuild of its GIN index.
    op.execute("DROP INDEX ix_tickets_search")
    op.execute("ALTER TABLE tickets DROP COLUMN search_vector")
    op.execute(
        f"ALTER TABLE tickets ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
        f"({SEARCH_VECTOR_SQL}) STORED NOT NULL"
    )
    op.execute(
        "COMMENT ON COLUMN tickets.search_vector IS "
        "'Full-text vector: title (weight A) and description (weight B).'"
    )
    op.execute("CREATE INDEX ix_tickets_search ON tickets USING gin (search_vector)")
    for name, table, timing in OLD_TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {name} {timing} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()"
        )
