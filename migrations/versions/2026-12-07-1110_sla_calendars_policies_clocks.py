"""Service levels: calendars, ordered policies, per-ticket clocks, and the sla.* feed events.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 11:10:00+00:00

docs/adr/0013-sla-clocks.md. Tables:

- ``sla_calendars``, ``sla_policies``: admin objects, audited by a trigger like webhooks
  (``sla_calendar.created|updated|deleted``, ``sla_policy.…``);
- ``sla_clocks``: one row per ticket, kind and cycle, derived by the worker from the ticket's
  history; ``ix_sla_clocks_alarm`` holds only clocks with an alarm to come (the alarm job reads a
  range of it, never the table);
- ``sla_ticket_states``: the ticket's policy and earliest running deadline (inbox sort);
- ``sla_feed_positions``: where the worker's consumer is in the change feed (starts at the end
  of the feed as it is now: existing tickets get clocks from the recompute a policy triggers);
- ``sla_recomputes``: batched recomputations and their progress.

``events.type`` admits ``sla.warning`` and ``sla.breached``. No existing trigger function changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_EVENT_TYPES = (
    "ticket.created",
    "ticket.updated",
    "ticket.deleted",
    "message.created",
    "metadata.changed",
    "attachment.added",
    "message.delivery",
)
NEW_EVENT_TYPES = (*OLD_EVENT_TYPES, "sla.warning", "sla.breached")
AUDITED = (("sla_calendars", "sla_calendar"), ("sla_policies", "sla_policy"))
HIDDEN = "'{updated_at}'::text[]"

AUDIT = f"""
CREATE FUNCTION sla_config_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    entity text := TG_ARGV[0];
    changes jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM helpline_audit(entity || '.created', entity, NEW.id::text,
                               to_jsonb(NEW) - {HIDDEN});
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM helpline_audit(entity || '.deleted', entity, OLD.id::text,
                               to_jsonb(OLD) - {HIDDEN});
    ELSE
        changes := helpline_jsonb_diff(to_jsonb(OLD) - {HIDDEN}, to_jsonb(NEW) - {HIDDEN});
        IF changes IS NOT NULL THEN
            PERFORM helpline_audit(entity || '.updated', entity, NEW.id::text, changes);
        END IF;
    END IF;
    RETURN NULL;
END $$;
"""


def _event_types(types: tuple[str, ...]) -> None:
    quoted = ", ".join(f"'{t}'" for t in types)
    op.drop_constraint(op.f("ck_events_type"), "events", type_="check")
    op.create_check_constraint(op.f("ck_events_type"), "events", f"type IN ({quoted})")


def upgrade() -> None:
    op.create_table(
        "sla_calendars",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.Text(), nullable=False, comment="IANA zone, e.g. Europe/Berlin."),
        sa.Column(
            "intervals",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment='[{"weekday": 0-6, "start": "HH:MM", "end": "HH:MM"}]; end <= start: overnight.',
        ),
        sa.Column(
            "holidays",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
            comment='[{"date": "YYYY-MM-DD"} | {"month": m, "day": d}] with an optional "name".',
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
            "char_length(name) BETWEEN 1 AND 200", name=op.f("ck_sla_calendars_name_length")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_calendars")),
        comment="SLA calendars: IANA zone, weekly business intervals, holidays.",
    )
    op.create_index("uq_sla_calendars_name", "sla_calendars", ["name"], unique=True)
    op.create_table(
        "sla_feed_positions",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("xid", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("event_id", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sla_feed_positions")),
        comment="Change-feed positions of the SLA consumer.",
    )
    op.create_table(
        "sla_recomputes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), server_default="queued", nullable=False),
        sa.Column("total", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("done", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "last_ticket_id",
            sa.UUID(),
            nullable=True,
            comment="Keyset position: the job resumes after it.",
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_sla_recomputes_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_recomputes")),
        comment="Recompute runs (batched job) and their progress.",
    )
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "position",
            sa.Integer(),
            nullable=False,
            comment="Lower first; the first match applies.",
        ),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "conditions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
            comment="priorities, customer_ids, mailbox_ids (lists), metadata (key: value); all hold.",
        ),
        sa.Column(
            "calendar_id",
            sa.UUID(),
            nullable=True,
            comment="Calendar of business-time targets (null: calendar time only).",
        ),
        sa.Column(
            "targets",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment='{"<priority>": {"<kind>": {"seconds": n, "business": bool}}}.',
        ),
        sa.Column(
            "pause_statuses",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{pending,on_hold}'::text[]"),
            nullable=False,
        ),
        sa.Column(
            "warning_percent",
            sa.Integer(),
            server_default=sa.text("80"),
            nullable=False,
            comment="sla.warning at this share of the target; 0: none.",
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
            "char_length(name) BETWEEN 1 AND 200", name=op.f("ck_sla_policies_name_length")
        ),
        sa.CheckConstraint(
            "warning_percent BETWEEN 0 AND 99", name=op.f("ck_sla_policies_warning_percent")
        ),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["sla_calendars.id"],
            name=op.f("fk_sla_policies_calendar_id_sla_calendars"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        comment="Ordered SLA policies: conditions, targets per priority, pausing statuses.",
    )
    op.create_index(
        "ix_sla_policies_position", "sla_policies", ["position", "created_at"], unique=False
    )
    op.create_index("uq_sla_policies_name", "sla_policies", ["name"], unique=True)
    op.create_table(
        "sla_clocks",
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column(
            "kind",
            sa.Text(),
            nullable=False,
            comment="first_response | next_response | resolution.",
        ),
        sa.Column(
            "cycle", sa.Integer(), nullable=False, comment="0; next_response: 1, 2, … per cycle."
        ),
        sa.Column("policy_id", sa.UUID(), nullable=True),
        sa.Column("target_seconds", sa.BigInteger(), nullable=False),
        sa.Column("business", sa.Boolean(), nullable=False, comment="Counted in business time."),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("running_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "used_seconds",
            sa.BigInteger(),
            nullable=False,
            comment="Time used up to running_since / paused_at, in the clock's own time.",
        ),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "stopped_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Ended without fulfilment (ticket solved unanswered).",
        ),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "next_alarm_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When the alarm job must look next; null: never.",
        ),
        sa.Column(
            "warned_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="sla.warning emitted (once).",
        ),
        sa.Column(
            "breach_noticed_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="sla.breached emitted (once).",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('first_response', 'next_response', 'resolution')",
            name=op.f("ck_sla_clocks_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["sla_policies.id"],
            name=op.f("fk_sla_clocks_policy_id_sla_policies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_sla_clocks_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", "kind", "cycle", name="pk_sla_clocks"),
        comment="Per-ticket SLA clocks, derived from history (ADR 0013).",
    )
    op.create_index(
        "ix_sla_clocks_kind_fulfilled",
        "sla_clocks",
        ["kind", "fulfilled_at"],
        unique=False,
        postgresql_where=sa.text("fulfilled_at IS NOT NULL"),
    )
    op.create_index(
        "ix_sla_clocks_alarm",
        "sla_clocks",
        ["next_alarm_at"],
        unique=False,
        postgresql_where=sa.text("next_alarm_at IS NOT NULL"),
    )
    op.create_index(
        "ix_sla_clocks_open_due",
        "sla_clocks",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text(
            "fulfilled_at IS NULL AND stopped_at IS NULL AND due_at IS NOT NULL"
        ),
    )
    op.create_table(
        "sla_ticket_states",
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("policy_id", sa.UUID(), nullable=True),
        sa.Column(
            "due_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Earliest deadline of a running clock.",
        ),
        sa.Column(
            "breached",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
            comment="Kinds breached so far.",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["sla_policies.id"],
            name=op.f("fk_sla_ticket_states_policy_id_sla_policies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_sla_ticket_states_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_sla_ticket_states")),
        comment="Per-ticket SLA summary maintained with its clocks.",
    )
    op.create_index(
        "ix_sla_ticket_states_due", "sla_ticket_states", ["due_at", "ticket_id"], unique=False
    )

    op.execute(AUDIT)
    for table, entity in AUDITED:
        op.execute(
            f"CREATE TRIGGER {table}_audit AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION sla_config_audit('{entity}')"
        )
    _event_types(NEW_EVENT_TYPES)
    op.execute(
        "INSERT INTO sla_feed_positions (name, xid, event_id) SELECT 'sla',"
        " coalesce((SELECT xid FROM events ORDER BY xid DESC, id DESC LIMIT 1), 0),"
        " coalesce((SELECT id FROM events ORDER BY xid DESC, id DESC LIMIT 1), 0)"
    )


def downgrade() -> None:
    op.execute("DELETE FROM events WHERE type IN ('sla.warning', 'sla.breached')")
    _event_types(OLD_EVENT_TYPES)
    for table, _ in AUDITED:
        op.execute(f"DROP TRIGGER {table}_audit ON {table}")
    op.execute("DROP FUNCTION sla_config_audit()")
    op.drop_index("ix_sla_ticket_states_due", table_name="sla_ticket_states")
    op.drop_table("sla_ticket_states")
    op.drop_index(
        "ix_sla_clocks_open_due",
        table_name="sla_clocks",
        postgresql_where=sa.text(
            "fulfilled_at IS NULL AND stopped_at IS NULL AND due_at IS NOT NULL"
        ),
    )
    op.drop_index(
        "ix_sla_clocks_alarm",
        table_name="sla_clocks",
        postgresql_where=sa.text("next_alarm_at IS NOT NULL"),
    )
    op.drop_table("sla_clocks")
    op.drop_index("uq_sla_policies_name", table_name="sla_policies")
    op.drop_index("ix_sla_policies_position", table_name="sla_policies")
    op.drop_table("sla_policies")
    op.drop_table("sla_recomputes")
    op.drop_table("sla_feed_positions")
    op.drop_index("uq_sla_calendars_name", table_name="sla_calendars")
    op.drop_table("sla_calendars")
