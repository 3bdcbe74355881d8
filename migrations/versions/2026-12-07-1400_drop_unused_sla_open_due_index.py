"""Drop ix_sla_clocks_open_due: no query reads it, and every recompute paid to maintain it.

Revision ID: 0019
Revises: 0020
Create Date: 2026-12-07 14:00:00+00:00

Running deadlines are read through `sla_ticket_states` (`ix_sla_ticket_states_due`, the SLA queue)
and per ticket through the primary key; alarms through `ix_sla_clocks_alarm`. This partial index
on `sla_clocks.due_at` was written on every clock update (a recompute after a calendar change
moves every open clock's deadline) and read by nothing — about a third of the recompute's write
cost in `scripts/bench sla`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_sla_clocks_open_due", table_name="sla_clocks")


def downgrade() -> None:
    op.create_index(
        "ix_sla_clocks_open_due",
        "sla_clocks",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text(
            "fulfilled_at IS NULL AND stopped_at IS NULL AND due_at IS NOT NULL"
        ),
    )
