"""Outbox of ticket cache invalidations a process could not deliver to Redis.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:30:00+00:00

A process that commits a ticket change while it cannot reach Redis records the invalidation here
(in its own small transaction); every process that can reach Redis delivers and deletes these
rows within a second, so another process never serves the old ticket from its cache for the rest
of the entry's TTL. The table is empty in normal operation.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cache_invalidations",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False, comment="The changed ticket."),
        sa.Column(
            "customer_id",
            sa.Uuid(),
            nullable=True,
            comment="Its customer, whose list caches change too.",
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cache_invalidations")),
        comment="Undelivered ticket cache invalidations (an outbox).",
    )


def downgrade() -> None:
    op.drop_table("cache_invalidations")
