"""Reports: daily rollups of the metric facts per report zone, kept by the facts' consumer.

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-07 17:00:00+00:00

- ``report_rollups``: per zone, grain, kind, local day and key (priority, team, mailbox, channel,
  assignee): counts and sums of calendar and business seconds;
- ``report_rollup_bins``: the non-empty bins of their log-scale histograms (one small row per
  bin: an upsert adds to one counter, a read sums the bins of the period);
- ``report_rollup_zones``: the zones kept (UTC and the SLA calendars' zones), each read by
  reports only once ``ready``;
- ``ticket_rollup_states``: per ticket, the key, facts and zones its contributions reflect, so a
  sync adds exactly the difference (idempotent; moves a re-prioritised ticket between keys);

Existing facts are not rolled up here (a data step over 10M facts does not belong in a
migration's transaction): the zones start not ready when facts exist, and ``helpline reports
backfill`` (batched, safe beside the worker) adds every ticket and marks them ready. Until then
reports read the facts, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0024"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NIL = sa.text("'00000000-0000-0000-0000-000000000000'::uuid")
KEY_COLUMNS = (
    "zone", "grain", "kind", "assignee_id", "day", "priority", "team_id", "mailbox_id", "channel"
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "report_rollups",
        sa.Column(
            "zone", sa.Text(), nullable=False, comment="IANA zone whose local days these are."
        ),
        sa.Column(
            "grain",
            sa.SmallInteger(),
            nullable=False,
            comment="0: totals; 1: by priority, team, mailbox, channel; 2: + assignee.",
        ),
        sa.Column(
            "kind",
            sa.Text(),
            nullable=False,
            comment="created | first_response | solved | solved_first | solved_final | reopened |"
            " reopened_first_solve.",
        ),
        sa.Column(
            "assignee_id",
            sa.Uuid(),
            nullable=False,
            comment="Current assignee (grain 2); the nil UUID for none.",
        ),
        sa.Column("day", sa.Date(), nullable=False, comment="Local day in `zone`."),
        sa.Column(
            "priority", sa.Text(), nullable=False, comment="Current priority ('' at grain 0)."
        ),
        sa.Column(
            "team_id", sa.Uuid(), nullable=False, comment="Current team; the nil UUID for none."
        ),
        sa.Column(
            "mailbox_id",
            sa.Uuid(),
            nullable=False,
            comment="The ticket's mailbox; the nil UUID for none.",
        ),
        sa.Column("channel", sa.Text(), nullable=False, comment="email | api ('' at grain 0)."),
        sa.Column("n", sa.BigInteger(), nullable=False, comment="Contributions (facts) counted."),
        sa.Column(
            "cal_n", sa.BigInteger(), nullable=False, comment="Of those, with calendar seconds."
        ),
        sa.Column("cal_sum", sa.BigInteger(), nullable=False, comment="Sum of calendar seconds."),
        sa.Column(
            "bus_n", sa.BigInteger(), nullable=False, comment="Of those, with business seconds."
        ),
        sa.Column("bus_sum", sa.BigInteger(), nullable=False, comment="Sum of business seconds."),
        sa.PrimaryKeyConstraint(*KEY_COLUMNS, name=op.f("pk_report_rollups")),
        comment="Daily rollups of ticket_metric_facts per report zone and key (reports).",
    )
    op.create_table(
        "report_rollup_bins",
        sa.Column("zone", sa.Text(), nullable=False),
        sa.Column("grain", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("priority", sa.Text(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("mailbox_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column(
            "measure",
            sa.SmallInteger(),
            nullable=False,
            comment="0: calendar, 1: business seconds.",
        ),
        sa.Column(
            "bin", sa.SmallInteger(), nullable=False, comment="Bin of report.histogram (0: 0 s)."
        ),
        sa.Column("count", sa.BigInteger(), nullable=False, comment="Values in the bin."),
        sa.PrimaryKeyConstraint(*KEY_COLUMNS, "measure", "bin", name=op.f("pk_report_rollup_bins")),
        comment="Histogram bins of the report rollups' durations (report.histogram).",
    )
    op.create_table(
        "report_rollup_zones",
        sa.Column("zone", sa.Text(), nullable=False),
        sa.Column(
            "ready",
            sa.Boolean(),
            nullable=False,
            comment="Every ticket's contributions are in; reports may read this zone.",
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("zone", name=op.f("pk_report_rollup_zones")),
        comment="Time zones the report rollups are kept in.",
    )
    op.create_table(
        "ticket_rollup_states",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column(
            "live",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="False: nothing added (new or deleted).",
        ),
        sa.Column("priority", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("team_id", sa.Uuid(), server_default=NIL, nullable=False),
        sa.Column("mailbox_id", sa.Uuid(), server_default=NIL, nullable=False),
        sa.Column("channel", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), server_default=NIL, nullable=False),
        sa.Column(
            "facts",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
            comment="The facts added, as kind:seq.",
        ),
        sa.Column(
            "zones",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
            comment="The zones they were added in.",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_rollup_states")),
        comment="Per ticket: the key, facts and zones its rollups reflect.",
    )
    # Nothing to roll up yet → ready at once; else after `helpline reports backfill`.
    op.execute(
        "INSERT INTO report_rollup_zones (zone, ready)"
        " SELECT z, NOT EXISTS (SELECT 1 FROM ticket_metric_facts)"
        " FROM (SELECT 'UTC' AS z UNION SELECT time_zone FROM sla_calendars) zs"
    )


def downgrade() -> None:
    op.drop_table("ticket_rollup_states")
    op.drop_table("report_rollup_zones")
    op.drop_table("report_rollup_bins")
    op.drop_table("report_rollups")
