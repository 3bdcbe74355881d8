"""Time rules (a due-time index of rule timers), rules' hourly rate counters, timer executions in
the rule log, and a mailbox's default team.

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-07 14:00:00+00:00

docs/adr/0014-rules.md ("Time rules", "Cost per event"):

- ``rule_timers(rule_id, ticket_id)``: when a time rule's condition will start to hold for a
  ticket (``due_at``, indexed where not null) and on which start instants (``basis``); the
  worker reads due rows by the index (``FOR UPDATE SKIP LOCKED``), never a scan of tickets. A
  fired timer keeps its row with ``due_at`` null, so the same basis never fires twice.
- ``rule_state(rule_id)``: the hourly execution counter (one ``UPDATE`` instead of counting
  the last hour's log rows per execution) and when the rule's timers were last built. Kept out
  of ``rules`` so that bookkeeping is not audited as a change of the rule.
- ``rule_executions.event_id`` becomes nullable and ``timer_basis`` names the timer a time
  rule's execution ran for: unique per (rule, ticket, basis), as (rule, event) is for events.
- ``mailboxes.default_team_id`` → ``teams`` (``SET NULL``): tickets opened by mail join it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_TABLES = ("rule_timers", "rule_state")


def upgrade() -> None:
    op.create_table(
        "rule_timers",
        sa.Column("rule_id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column(
            "basis", sa.Text(), nullable=False, comment="The start instants the due time is from."
        ),
        sa.Column(
            "due_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When the time conditions start to hold; null once fired for this basis.",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["rules.id"], name=op.f("fk_rule_timers_rule_id_rules"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_rule_timers_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rule_id", "ticket_id", name=op.f("pk_rule_timers")),
        comment="Due times of time rules per ticket (ADR 0014); read by the due_at index.",
    )
    op.create_index(
        "ix_rule_timers_due_at",
        "rule_timers",
        ["due_at"],
        postgresql_where=sa.text("due_at IS NOT NULL"),
    )
    op.create_index("ix_rule_timers_ticket_id", "rule_timers", ["ticket_id"])
    op.create_table(
        "rule_state",
        sa.Column("rule_id", sa.UUID(), nullable=False),
        sa.Column(
            "rate_hour",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="The clock hour rate_count counts.",
        ),
        sa.Column(
            "rate_count",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="Applied executions in rate_hour.",
        ),
        sa.Column(
            "timers_built_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When the worker last built this rule's timers (rebuilt after a change).",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["rules.id"], name=op.f("fk_rule_state_rule_id_rules"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("rule_id", name=op.f("pk_rule_state")),
        comment="Rules' bookkeeping (rate counter, timer build): not audited.",
    )
    op.alter_column("rule_executions", "event_id", nullable=True)
    op.add_column(
        "rule_executions",
        sa.Column(
            "timer_basis",
            sa.Text(),
            nullable=True,
            comment="The timer a time rule's execution ran for (null: a feed event).",
        ),
    )
    op.create_index(
        "uq_rule_executions_rule_ticket_timer",
        "rule_executions",
        ["rule_id", "ticket_id", "timer_basis"],
        unique=True,
        postgresql_where=sa.text("timer_basis IS NOT NULL"),
    )
    op.add_column(
        "mailboxes",
        sa.Column(
            "default_team_id",
            sa.UUID(),
            nullable=True,
            comment="Team of tickets opened by mail.",
        ),
    )
    op.create_foreign_key(
        op.f("fk_mailboxes_default_team_id_teams"),
        "mailboxes",
        "teams",
        ["default_team_id"],
        ["id"],
        ondelete="SET NULL",
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
    op.drop_constraint(op.f("fk_mailboxes_default_team_id_teams"), "mailboxes", type_="foreignkey")
    op.drop_column("mailboxes", "default_team_id")
    op.drop_index("uq_rule_executions_rule_ticket_timer", table_name="rule_executions")
    # Timer executions have no event: they go with the column (the log of feed events stays).
    op.execute("DELETE FROM rule_executions WHERE event_id IS NULL")
    op.drop_column("rule_executions", "timer_basis")
    op.alter_column("rule_executions", "event_id", nullable=False)
    op.drop_table("rule_state")
    op.drop_index("ix_rule_timers_ticket_id", table_name="rule_timers")
    op.drop_index("ix_rule_timers_due_at", table_name="rule_timers")
    op.drop_table("rule_timers")
