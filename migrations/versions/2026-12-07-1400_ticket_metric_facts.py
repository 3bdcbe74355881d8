"""Reports: immutable per-ticket metric facts and the position of their feed consumer.

Revision ID: 0018
Revises: 0021
Create Date: 2026-12-07 14:00:00+00:00

- ``ticket_metric_facts``: one row per thing a report counts (created, first staff response,
  each solve, each reopen), written once by the worker from the change feed (or by
  ``helpline reports backfill`` from history) and never updated.
- ``metric_feed_positions``: where that consumer is in the change feed; it starts at the end of
  the feed (facts of earlier tickets come from the backfill).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_metric_facts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Text(),
            nullable=False,
            comment="created | first_response | solved | reopened.",
        ),
        sa.Column(
            "seq",
            sa.Integer(),
            nullable=False,
            comment="1 for created and first_response; the nth solve or reopen.",
        ),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When it happened (the history or message time).",
        ),
        sa.Column(
            "calendar_seconds",
            sa.BigInteger(),
            nullable=True,
            comment="Wall seconds: creation → response/solve; the solve → the reopen for reopens.",
        ),
        sa.Column(
            "business_seconds",
            sa.BigInteger(),
            nullable=True,
            comment="The same span in business seconds of the calendar of the ticket's SLA "
            "policy at the time; null when no policy with a calendar applied.",
        ),
        sa.Column(
            "agent_id",
            sa.Uuid(),
            nullable=True,
            comment="Who responded or solved (null: a rule or the system).",
        ),
        sa.Column(
            "channel",
            sa.Text(),
            nullable=True,
            comment="For created: email (came through a mailbox) or api (REST, GraphQL, console).",
        ),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="When the fact was written.",
        ),
        sa.CheckConstraint(
            "kind IN ('created', 'first_response', 'solved', 'reopened')",
            name=op.f("ck_ticket_metric_facts_kind"),
        ),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_ticket_metric_facts_seq_positive")),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_metric_facts_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_metric_facts")),
        comment="Immutable per-ticket metric facts (reports); written once, never updated.",
    )
    op.create_index(
        "uq_ticket_metric_facts_ticket_kind_seq",
        "ticket_metric_facts",
        ["ticket_id", "kind", "seq"],
        unique=True,
    )
    op.create_index(
        "ix_ticket_metric_facts_kind_occurred_at",
        "ticket_metric_facts",
        ["kind", "occurred_at"],
        unique=False,
    )
    op.create_table(
        "metric_feed_positions",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("xid", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("event_id", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_metric_feed_positions")),
        comment="Change-feed position of the reports (metric facts) consumer.",
    )
    op.execute(
        "INSERT INTO metric_feed_positions (name, xid, event_id) SELECT 'reports',"
        " coalesce((SELECT xid FROM events ORDER BY xid DESC, id DESC LIMIT 1), 0),"
        " coalesce((SELECT id FROM events ORDER BY xid DESC, id DESC LIMIT 1), 0)"
    )


def downgrade() -> None:
    op.drop_table("metric_feed_positions")
    op.drop_index("ix_ticket_metric_facts_kind_occurred_at", table_name="ticket_metric_facts")
    op.drop_index("uq_ticket_metric_facts_ticket_kind_seq", table_name="ticket_metric_facts")
    op.drop_table("ticket_metric_facts")
