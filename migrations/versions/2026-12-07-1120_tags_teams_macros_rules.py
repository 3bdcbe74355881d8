"""Tags and teams on tickets; macros; automation rules and their execution log.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 11:20:00+00:00

docs/adr/0014-rules.md:

- ``tickets.tags`` (``text[]``, sorted and unique, checked by the immutable
  ``helpline_tags_valid``) with a GIN index over live tickets; ``tickets.team_id`` → ``teams``
  (``SET NULL``) with a keyset index like the assignee's. Both columns are new, so a constant
  default makes ``ADD COLUMN`` a catalog change (no table rewrite).
- ``tags`` and ``team_id`` join the tracked ticket fields (``TICKET_FIELDS_0014`` in
  migrations/lib/ticket_changes.py, the mechanism of 0012): ``tickets_changes()`` and its
  trigger's ``UPDATE OF`` list are regenerated from it (``tags_changed`` and ``team_changed``
  history rows, ``tags``/``team_id`` in ``ticket.updated`` changes, the audit row as for every
  tracked column), and so is ``tickets_before_write()`` (a tag or team change bumps
  ``version``). Downgrade reinstalls the ``TICKET_FIELDS_0012`` ones.
- ``teams``, ``team_members``, ``macros``, ``rules``, ``rule_executions`` and the one-row
  ``rule_feed_cursor`` (started at the end of the feed: past events do not fire new rules).
- ``audit_log.actor_type`` accepts ``rule``; audit triggers on teams, team members, macros and
  rules (usage counters and execution bookkeeping are not audited).
"""

import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TAG_PATTERN = "^[a-z0-9][a-z0-9_.:-]{0,49}$"
MAX_TAGS = 50

TAGS_VALID = r"""
CREATE FUNCTION helpline_tags_valid(tags text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT cardinality(tags) <= MAX_TAGS
       AND coalesce((SELECT bool_and(t ~ 'TAG_PATTERN') FROM unnest(tags) t), true)
       AND tags = ARRAY(SELECT DISTINCT t FROM unnest(tags) t ORDER BY t)
$$;
"""

HISTORY_TYPES_BEFORE = (
    "created", "status_changed", "priority_changed", "assignee_changed", "title_changed",
    "description_changed", "metadata_set", "metadata_removed", "message_added", "deleted",
    "restored",
)  # fmt: skip
HISTORY_TYPES = (*HISTORY_TYPES_BEFORE, "tags_changed", "team_changed")
ACTOR_TYPES_BEFORE = ("user", "api_key", "system", "anonymous")
ACTOR_TYPES = (*ACTOR_TYPES_BEFORE, "rule")


def load_ticket_changes() -> ModuleType:
    path = Path(__file__).parent.parent / "lib" / "ticket_changes.py"
    spec = importlib.util.spec_from_file_location("helpline_migrations_ticket_changes", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _ticket_changes(fields_of: str) -> None:
    """tickets_before_write(), tickets_changes() and its trigger for ``TICKET_FIELDS_<rev>``."""
    changes = load_ticket_changes()
    fields = getattr(changes, f"TICKET_FIELDS_{fields_of}")
    op.execute(changes.create_before_write(fields).strip())
    op.execute(changes.create_function(fields).strip())
    op.execute("DROP TRIGGER tickets_changes ON tickets")
    op.execute(changes.create_trigger(fields))


# Audit of the admin-managed objects; bookkeeping columns alone are not a change anyone made.
AUDITED = {
    "teams": ("team", "id", "'{updated_at,last_assigned_to}'"),
    "macros": ("macro", "id", "'{updated_at,usage_count,last_used_at}'"),
    "rules": ("rule", "id", "'{updated_at}'"),
}
AUDIT_FUNCTION = r"""
CREATE FUNCTION helpline_config_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text := TG_ARGV[0];
    hidden text[] := TG_ARGV[1]::text[];
    changes jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM helpline_audit(kind || '.created', kind, NEW.id::text, to_jsonb(NEW) - hidden);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM helpline_audit(kind || '.deleted', kind, OLD.id::text, to_jsonb(OLD) - hidden);
    ELSE
        changes := helpline_jsonb_diff(to_jsonb(OLD) - hidden, to_jsonb(NEW) - hidden);
        IF changes IS NOT NULL THEN
            PERFORM helpline_audit(kind || '.updated', kind, NEW.id::text, changes);
        END IF;
    END IF;
    RETURN NULL;
END $$;
"""
MEMBERS_AUDIT_FUNCTION = r"""
CREATE FUNCTION team_members_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM helpline_audit('team.member_added', 'team', NEW.team_id::text,
                               jsonb_build_object('user_id', NEW.user_id));
    ELSE
        PERFORM helpline_audit('team.member_removed', 'team', OLD.team_id::text,
                               jsonb_build_object('user_id', OLD.user_id));
    END IF;
    RETURN NULL;
END $$;
"""

NEW_TABLES = ("teams", "team_members", "macros", "rules", "rule_executions", "rule_feed_cursor")


def _check(table: str, name: str, column: str, values: tuple[str, ...]) -> None:
    quoted = ", ".join(f"'{v}'" for v in values)
    op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, f"{column} IN ({quoted})")


def _timestamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
            comment="Last change.",
        ),
    ]


def upgrade() -> None:
    op.execute(TAGS_VALID.replace("MAX_TAGS", str(MAX_TAGS)).replace("TAG_PATTERN", TAG_PATTERN))
    op.create_table(
        "teams",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "name", sa.Text(), nullable=False, comment="Unique case-insensitively, 1-100 chars."
        ),
        sa.Column(
            "description", sa.Text(), server_default="", nullable=False, comment="Free text."
        ),
        sa.Column(
            "last_assigned_to",
            sa.UUID(),
            nullable=True,
            comment="Round-robin position: the member assigned last.",
        ),
        *_timestamps(),
        sa.CheckConstraint(
            "char_length(name) BETWEEN 1 AND 100", name=op.f("ck_teams_name_length")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        comment="Teams of agents (ADR 0014).",
    )
    op.create_index("uq_teams_name", "teams", [sa.text("lower(name)")], unique=True)
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "added_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_team_members_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_team_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_members")),
        comment="Members of teams: agents and admins.",
    )
    op.create_index("ix_team_members_user_id", "team_members", ["user_id"])

    op.add_column(
        "tickets",
        sa.Column(
            "team_id",
            sa.UUID(),
            nullable=True,
            comment="Team the ticket belongs to (at most one).",
        ),
    )
    op.add_column(
        "tickets",
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
            comment="Tags: sorted, unique, lower-case; GIN-indexed (ADR 0014).",
        ),
    )
    op.create_foreign_key(
        op.f("fk_tickets_team_id_teams"),
        "tickets",
        "teams",
        ["team_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_check_constraint(
        op.f("ck_tickets_tags_valid"), "tickets", "helpline_tags_valid(tags)"
    )
    op.create_index(
        "ix_tickets_team_updated",
        "tickets",
        ["team_id", sa.text("updated_at DESC"), sa.text("id DESC")],
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_tickets_tags",
        "tickets",
        ["tags"],
        postgresql_using="gin",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    _check("ticket_history", "change_type", "change_type", HISTORY_TYPES)
    _check("audit_log", "actor_type", "actor_type", ACTOR_TYPES)
    _ticket_changes("0014")

    op.create_table(
        "macros",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False, comment="Shown in the picker, 1-100 chars."),
        sa.Column("body", sa.Text(), server_default="", nullable=False, comment="Reply template."),
        sa.Column(
            "actions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
            comment="Actions applied with the reply.",
        ),
        sa.Column(
            "owner_id", sa.UUID(), nullable=True, comment="Owner of a personal macro; null: shared."
        ),
        sa.Column(
            "usage_count",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="Times applied.",
        ),
        sa.Column(
            "last_used_at", sa.DateTime(timezone=True), nullable=True, comment="Last application."
        ),
        *_timestamps(),
        sa.CheckConstraint(
            "char_length(name) BETWEEN 1 AND 100", name=op.f("ck_macros_name_length")
        ),
        sa.CheckConstraint("char_length(body) <= 20000", name=op.f("ck_macros_body_length")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_macros_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_macros")),
        comment="Macros: templated reply + actions (ADR 0014).",
    )
    op.create_index("ix_macros_owner_name", "macros", ["owner_id", sa.text("lower(name)")])

    op.create_table(
        "rules",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False, comment="Unique case-insensitively."),
        sa.Column(
            "description", sa.Text(), server_default="", nullable=False, comment="Free text."
        ),
        sa.Column(
            "position", sa.Integer(), server_default="0", nullable=False, comment="Run order."
        ),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "once_per_ticket",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="Run at most once per ticket.",
        ),
        sa.Column(
            "conditions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
            comment='{"all": [...], "any": [...]}',
        ),
        sa.Column(
            "actions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "max_per_hour",
            sa.Integer(),
            server_default="1000",
            nullable=False,
            comment="More executions in an hour disable the rule.",
        ),
        sa.Column("disabled_reason", sa.Text(), nullable=True, comment="Why it was disabled."),
        *_timestamps(),
        sa.CheckConstraint(
            "char_length(name) BETWEEN 1 AND 100", name=op.f("ck_rules_name_length")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
        comment="Automation rules run by the worker from the change feed (ADR 0014).",
    )
    op.create_index("uq_rules_name", "rules", [sa.text("lower(name)")], unique=True)
    op.create_index("ix_rules_position", "rules", ["position", "id"])
    op.create_table(
        "rule_executions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("rule_id", sa.UUID(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False, comment="The feed event evaluated."),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("depth", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status", sa.Text(), nullable=False, comment="applied|no_change|skipped|failed."),
        sa.Column(
            "effects",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=True, comment="Why skipped or failed."),
        sa.Column(
            "executed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "status IN ('applied', 'no_change', 'skipped', 'failed')",
            name=op.f("ck_rule_executions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["rules.id"],
            name=op.f("fk_rule_executions_rule_id_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_executions")),
        comment="Per-rule execution log.",
    )
    op.create_index(
        "uq_rule_executions_rule_event", "rule_executions", ["rule_id", "event_id"], unique=True
    )
    op.create_index("ix_rule_executions_rule_ticket", "rule_executions", ["rule_id", "ticket_id"])
    op.create_index(
        "ix_rule_executions_rule_id_id", "rule_executions", ["rule_id", sa.text("id DESC")]
    )
    op.create_index(
        "ix_rule_executions_rule_executed", "rule_executions", ["rule_id", "executed_at"]
    )
    op.create_table(
        "rule_feed_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("xid", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("event_id", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("lease_owner", sa.Text(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_rule_feed_cursor_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_feed_cursor")),
        comment="Feed position of the rules runner; one worker holds the lease.",
    )
    # Start at the end of the feed: rules act on changes made after they exist.
    op.execute(
        "INSERT INTO rule_feed_cursor (id, xid, event_id)"
        " SELECT 1, coalesce(max(xid), 0), coalesce(max(id), 0) FROM events"
    )

    op.execute(AUDIT_FUNCTION)
    op.execute(MEMBERS_AUDIT_FUNCTION)
    for table, (kind, _id, hidden) in AUDITED.items():
        op.execute(
            f"CREATE TRIGGER {table}_audit AFTER INSERT OR UPDATE OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION helpline_config_audit('{kind}', {hidden!s})"
        )
    op.execute(
        "CREATE TRIGGER team_members_audit AFTER INSERT OR DELETE ON team_members"
        " FOR EACH ROW EXECUTE FUNCTION team_members_audit()"
    )
    grant = """
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'helpline_runtime') THEN
                GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO helpline_runtime;
            END IF;
        END $$;
        """
    op.execute(grant.replace("ON TABLES", "ON " + ", ".join(NEW_TABLES)))


def downgrade() -> None:
    op.execute("DROP TRIGGER team_members_audit ON team_members")
    for table in AUDITED:
        op.execute(f"DROP TRIGGER {table}_audit ON {table}")
    op.execute("DROP FUNCTION team_members_audit()")
    op.execute("DROP FUNCTION helpline_config_audit()")
    op.drop_table("rule_feed_cursor")
    op.drop_table("rule_executions")
    op.drop_table("rules")
    op.drop_table("macros")
    _ticket_changes("0012")
    op.execute("DELETE FROM ticket_history WHERE change_type IN ('tags_changed', 'team_changed')")
    _check("ticket_history", "change_type", "change_type", HISTORY_TYPES_BEFORE)
    # audit_log keeps accepting 'rule': the log is append-only, and rows written by rules stay.
    op.drop_index("ix_tickets_tags", table_name="tickets")
    op.drop_index("ix_tickets_team_updated", table_name="tickets")
    op.drop_constraint(op.f("ck_tickets_tags_valid"), "tickets", type_="check")
    op.drop_constraint(op.f("fk_tickets_team_id_teams"), "tickets", type_="foreignkey")
    op.drop_column("tickets", "tags")
    op.drop_column("tickets", "team_id")
    op.drop_table("team_members")
    op.drop_table("teams")
    op.execute("DROP FUNCTION helpline_tags_valid(text[])")
