"""Reports: an assignee-only rollup grain, and metric facts that outlive a purged ticket.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 20:00:00+00:00

- ``report_rollups`` / ``report_rollup_bins`` grain 3: per assignee only (priority, team, mailbox
  and channel empty), so volume by agent and the agent filter alone read a row per day and
  agent instead of one per day, agent and every other key. Built here from grain 2 (the same contributions with the
  other key columns summed away: exact, and small next to the facts). Upgrade with the worker
  stopped, as for any migration that the new code depends on: an old worker would not add to
  grain 3.
- ``ticket_metric_facts.ticket_id`` loses its ``ON DELETE CASCADE`` foreign key: when a ticket
  is purged (a hard ``DELETE``, outside the API), its facts stay so the rollups can take its
  contributions away (``report.maintenance``, hourly), which then deletes them. Reports join
  live tickets, so such facts are never counted. The downgrade deletes the facts of purged
  tickets before it adds the key back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NIL = "'00000000-0000-0000-0000-000000000000'::uuid"
GRAIN_3 = f"3, kind, assignee_id, day, '', {NIL}, {NIL}, ''"  # constants only
OLD_COMMENTS = {
    "grain": "0: totals; 1: by priority, team, mailbox, channel; 2: + assignee.",
    "assignee_id": "Current assignee (grain 2); the nil UUID for none.",
    "priority": "Current priority ('' at grain 0).",
    "channel": "email | api ('' at grain 0).",
}
NEW_COMMENTS = {
    "grain": "0: totals; 1: by priority, team, mailbox, channel; 2: 1 + assignee; 3: assignee only.",
    "assignee_id": "Current assignee (grains 2 and 3); the nil UUID for none.",
    "priority": "Current priority ('' at grains 0, 3).",
    "channel": "email | api ('' at grains 0, 3).",
}
TYPES = {"grain": sa.SmallInteger(), "assignee_id": sa.Uuid(), "priority": sa.Text(),
         "channel": sa.Text()}  # fmt: skip
FACT_COMMENT = "The ticket (no foreign key: kept after a purge until the rollups withdraw it)."
FK = "fk_ticket_metric_facts_ticket_id_tickets"


def _comments(comments: dict[str, str], before: dict[str, str]) -> None:
    for column, comment in comments.items():
        op.alter_column(
            "report_rollups",
            column,
            existing_type=TYPES[column],
            existing_nullable=False,
            comment=comment,
            existing_comment=before[column],
        )


def upgrade() -> None:
    _comments(NEW_COMMENTS, OLD_COMMENTS)
    op.execute(
        "INSERT INTO report_rollups (zone, grain, kind, assignee_id, day, priority, team_id,"  # noqa: S608  # nosec B608
        " mailbox_id, channel, n, cal_n, cal_sum, bus_n, bus_sum)"
        f" SELECT zone, {GRAIN_3}, sum(n), sum(cal_n),"
        " sum(cal_sum), sum(bus_n), sum(bus_sum) FROM report_rollups WHERE grain = 2"
        " GROUP BY zone, kind, assignee_id, day"
        " HAVING sum(n) <> 0 OR sum(cal_n) <> 0 OR sum(cal_sum) <> 0 OR sum(bus_n) <> 0"
        " OR sum(bus_sum) <> 0"
    )
    op.execute(
        "INSERT INTO report_rollup_bins (zone, grain, kind, assignee_id, day, priority, team_id,"  # noqa: S608  # nosec B608
        " mailbox_id, channel, measure, bin, count)"
        f" SELECT zone, {GRAIN_3}, measure, bin, sum(count)"
        " FROM report_rollup_bins WHERE grain = 2"
        " GROUP BY zone, kind, assignee_id, day, measure, bin HAVING sum(count) <> 0"
    )
    op.drop_constraint(op.f(FK), "ticket_metric_facts", type_="foreignkey")
    op.alter_column(
        "ticket_metric_facts",
        "ticket_id",
        existing_type=sa.Uuid(),
        existing_nullable=False,
        comment=FACT_COMMENT,
    )


def downgrade() -> None:
    op.alter_column(
        "ticket_metric_facts",
        "ticket_id",
        existing_type=sa.Uuid(),
        existing_nullable=False,
        comment=None,
        existing_comment=FACT_COMMENT,
    )
    op.execute(
        "DELETE FROM ticket_metric_facts f WHERE NOT EXISTS"
        " (SELECT 1 FROM tickets t WHERE t.id = f.ticket_id)"
    )
    op.create_foreign_key(
        op.f(FK), "ticket_metric_facts", "tickets", ["ticket_id"], ["id"], ondelete="CASCADE"
    )
    op.execute("DELETE FROM report_rollup_bins WHERE grain = 3")
    op.execute("DELETE FROM report_rollups WHERE grain = 3")
    _comments(OLD_COMMENTS, NEW_COMMENTS)
