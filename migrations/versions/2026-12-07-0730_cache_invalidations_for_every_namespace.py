"""Cache invalidation outbox: kept for every Redis namespace, and principal changes too.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 07:30:00+00:00

Until now the first process that delivered a row deleted it, even a process of another Redis
namespace on the same database (another deployment, region or prefix): the namespace that needed
the invalidation never got it. Rows now stay for a retention period and every process delivers
each row once to its own Redis (``created_at`` indexed for the look-back and the pruning).

``kind`` = ``principals`` records that a credential or its owner changed (a revocation, rotation,
role change) while the process could not bump the principals' generation in Redis: the same
durable path as ticket invalidations. Such rows carry no ticket.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "cache_invalidations"


def upgrade() -> None:
    op.add_column(
        TABLE,
        sa.Column(
            "kind",
            sa.Text(),
            server_default="ticket",
            nullable=False,
            comment="ticket: a changed ticket; principals: a credential or its owner changed.",
        ),
    )
    op.alter_column(TABLE, "ticket_id", existing_type=sa.Uuid(), nullable=True)
    op.create_check_constraint(
        op.f("ck_cache_invalidations_kind"), TABLE, "kind IN ('ticket', 'principals')"
    )
    op.create_check_constraint(
        op.f("ck_cache_invalidations_ticket_kind"),
        TABLE,
        "(kind = 'ticket') = (ticket_id IS NOT NULL)",
    )
    op.create_index("ix_cache_invalidations_created_at", TABLE, ["created_at"])
    op.create_table_comment(
        TABLE,
        "Recent cache invalidations some process could not send to Redis.",
        existing_comment="Undelivered ticket cache invalidations (an outbox).",
    )


def downgrade() -> None:
    op.execute(f"DELETE FROM {TABLE} WHERE kind <> 'ticket'")  # noqa: S608 -- TABLE is a constant
    op.create_table_comment(
        TABLE,
        "Undelivered ticket cache invalidations (an outbox).",
        existing_comment="Recent cache invalidations some process could not send to Redis.",
    )
    op.drop_index("ix_cache_invalidations_created_at", table_name=TABLE)
    op.drop_constraint(op.f("ck_cache_invalidations_ticket_kind"), TABLE, type_="check")
    op.drop_constraint(op.f("ck_cache_invalidations_kind"), TABLE, type_="check")
    op.alter_column(TABLE, "ticket_id", existing_type=sa.Uuid(), nullable=False)
    op.drop_column(TABLE, "kind")
