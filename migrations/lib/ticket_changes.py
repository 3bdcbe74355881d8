"""The ticket columns whose changes are recorded, and the trigger SQL generated from them.

Loaded by path from migrations (``load_ticket_changes()`` in each), so the one list of tracked
fields lives here, next to the code that turns it into ``tickets_changes()``: history rows, the
audit row and the change feed's event, in one pass over ``OLD``/``NEW`` (migration 0012).

To track a new ticket column (say ``team_id``): add ``TICKET_FIELDS_<rev>`` below — the previous
tuple plus the new field — and in that revision's migration run ``create_function(<new>)`` and
``create_trigger(<new>)`` on upgrade and the previous tuple's on downgrade (a new history
``change_type`` also needs ``ck_ticket_history_change_type`` widened). Earlier tuples never
change: they are what earlier migrations install. ``tests/migrations/test_change_triggers.py``
fails while a column of ``tickets`` is neither tracked nor listed in ``UNTRACKED``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TrackedField:
    """A ticket column whose change is audited (every tracked column is) and, optionally, a
    history row of its own (``history``: the change_type) and a key in ``ticket.updated``."""

    column: str
    history: str | None = None
    event: bool = False


# Order matters for history: one row per changed field, in this order (as before 0012).
TICKET_FIELDS_0012: tuple[TrackedField, ...] = (
    TrackedField("status", "status_changed", event=True),
    TrackedField("priority", "priority_changed", event=True),
    TrackedField("assigned_to", "assignee_changed", event=True),
    TrackedField("title", "title_changed", event=True),
    TrackedField("description", "description_changed", event=True),
    TrackedField("customer_id", event=True),
    # Audited only: set once or by the system, but a change is still a change.
    TrackedField("id"),
    TrackedField("number"),
    TrackedField("created_at"),
    TrackedField("mailbox_id"),
)
# deleted_at is always tracked (history deleted/restored, ticket.deleted, audit actions).
SPECIAL = ("deleted_at",)
# The history row of a new ticket records these.
CREATED_SNAPSHOT = ("title", "status", "priority", "assigned_to", "customer_id")
# The ticket.created event's data.
CREATED_EVENT = """jsonb_build_object(
            'id', NEW.id, 'title', NEW.title, 'status', NEW.status, 'priority', NEW.priority,
            'assigned_to', NEW.assigned_to, 'customer_id', NEW.customer_id,
            'created_at', NEW.created_at, 'updated_at', NEW.updated_at, 'version', NEW.version,
            'deleted_at', NEW.deleted_at)"""
# Bookkeeping the BEFORE trigger maintains: a change of these alone records nothing.
UNTRACKED = ("updated_at", "version", "search_vector")


def _history(kind: str, old: str, new: str) -> str:
    columns = "ticket_id, change_type, changed_by, old_value, new_value, change_set_id, request_id"
    return (
        f"INSERT INTO ticket_history ({columns}, version) VALUES (NEW.id, '{kind}', actor,"  # noqa: S608
        f" {old}, {new}, helpline_change_set_id(), request, NEW.version);"
    )


def _audit(action: str, changes: str) -> str:
    """An audit_log row, as helpline_audit() writes it, from the context read once on entry."""
    return (
        "INSERT INTO audit_log (actor_type, actor_id, api_key_id, action, entity_type, entity_id,"  # noqa: S608
        " request_id, ip, changes, outcome) VALUES (coalesce(actor_type, 'system'), actor,"
        f" api_key, {action}, 'ticket', ticket::text, request, ip, {changes} || db_user,"
        " 'success');"
    )


def _event(kind: str, data: str) -> str:
    """A feed row; through helpline_emit_event() (deliveries, jobs) when a webhook listens."""
    return (
        f"data := {data};\n"  # noqa: S608 - trigger SQL from constants
        "        IF EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled) THEN\n"
        f"            PERFORM helpline_emit_event('{kind}', NEW.id, false, data);\n"
        "        ELSE\n"
        "            INSERT INTO events (type, ticket_id, internal, actor_id, request_id, data)"
        f" VALUES ('{kind}', NEW.id, false, actor, request, data);\n"
        "        END IF;"
    )


def create_function(fields: tuple[TrackedField, ...]) -> str:
    """``CREATE OR REPLACE FUNCTION tickets_changes()`` for these tracked fields."""
    blocks = []
    for f in fields:
        if f.history is None and not f.event:
            continue
        body = []
        if f.history is not None:
            body.append(
                _history(f.history, f"to_jsonb(OLD.{f.column})", f"to_jsonb(NEW.{f.column})")
            )
        if f.event:
            body.append(
                f"changes := changes || jsonb_build_object('{f.column}',"
                f" jsonb_build_array(OLD.{f.column}, NEW.{f.column}));"
            )
        blocks.append(
            f"    IF NEW.{f.column} IS DISTINCT FROM OLD.{f.column} THEN\n        "
            + "\n        ".join(body)
            + "\n    END IF;"
        )
    per_field = "\n".join(blocks)
    created = ", ".join(f"'{c}', NEW.{c}" for c in CREATED_SNAPSHOT)
    created_event = _event("ticket.created", CREATED_EVENT)
    return f"""
CREATE OR REPLACE FUNCTION tickets_changes() RETURNS trigger LANGUAGE plpgsql AS $$
-- History, audit and the change feed of tickets, in one pass (migrations/lib/ticket_changes.py).
DECLARE
    -- The actor context, read once (helpline_audit() and helpline_emit_event() read it per row).
    actor_type text := helpline_setting('actor_type');
    actor uuid := helpline_actor_user();
    api_key uuid := helpline_setting('api_key_id')::uuid;
    request text := helpline_setting('request_id');
    ip_text text := helpline_setting('ip');
    ip inet := CASE WHEN ip_text ~ '^[0-9A-Fa-f:.]{{2,45}}$' THEN ip_text::inet END;
    -- No actor context: a direct database change; the audit row records which role made it.
    db_user jsonb := CASE WHEN actor_type IS NULL
                          THEN jsonb_build_object('db_user', session_user) ELSE '{{}}' END;
    ticket uuid;
    before tickets;  -- the rows without search_vector: to_jsonb() need not render it
    after tickets;
    diff jsonb;
    data jsonb;
    changes jsonb := '{{}}'::jsonb;
    action text := 'ticket.updated';
BEGIN
    IF TG_OP = 'DELETE' THEN
        ticket := OLD.id;
        before := OLD;
        before.search_vector := NULL;
        {_audit("'ticket.purged'", "(to_jsonb(before) - 'search_vector')")}
        RETURN NULL;
    END IF;
    ticket := NEW.id;
    after := NEW;
    after.search_vector := NULL;
    IF TG_OP = 'INSERT' THEN
        {_audit("'ticket.created'", "(to_jsonb(after) - 'search_vector')")}
        {created_event}
        {_history("created", "NULL", f"jsonb_build_object({created})")}
        RETURN NULL;
    END IF;
    -- An UPDATE that set a tracked column (the trigger's column list: a touch of updated_at
    -- alone never gets here). Audit: every column that changed, whatever it is.
    before := OLD;
    before.search_vector := NULL;
    diff := helpline_jsonb_diff(to_jsonb(before) - '{{{",".join(UNTRACKED)}}}'::text[],
                                to_jsonb(after) - '{{{",".join(UNTRACKED)}}}'::text[]);
    IF diff IS NULL THEN
        RETURN NULL;  -- set to the values it had
    END IF;
    IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
        action := 'ticket.deleted';
    ELSIF OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN
        action := 'ticket.restored';
    END IF;
    {_audit("action", "(diff || jsonb_build_object('version', NEW.version))")}
{per_field}
    IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
        {_history("deleted", "NULL", "to_jsonb(NEW.deleted_at)")}
        {_event("ticket.deleted", "jsonb_build_object('version', NEW.version, 'deleted_at', NEW.deleted_at)")}
        RETURN NULL;
    ELSIF OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN
        {_history("restored", "to_jsonb(OLD.deleted_at)", "NULL")}
    END IF;
    IF NEW.deleted_at IS DISTINCT FROM OLD.deleted_at THEN  -- a restore
        changes := changes || jsonb_build_object(
            'deleted_at', jsonb_build_array(OLD.deleted_at, NEW.deleted_at));
    END IF;
    IF changes <> '{{}}'::jsonb THEN
        {_event("ticket.updated", "jsonb_build_object('version', NEW.version, 'changes', changes)")}
    END IF;
    RETURN NULL;
END $$
"""  # noqa: S608 - trigger SQL from constants


def create_trigger(fields: tuple[TrackedField, ...]) -> str:
    """The trigger: per row, on an UPDATE only when the statement sets a tracked column."""
    columns = ", ".join([*(f.column for f in fields), *SPECIAL])
    return (
        f"CREATE TRIGGER tickets_changes AFTER INSERT OR DELETE OR UPDATE OF {columns}"
        " ON tickets FOR EACH ROW EXECUTE FUNCTION tickets_changes()"
    )
