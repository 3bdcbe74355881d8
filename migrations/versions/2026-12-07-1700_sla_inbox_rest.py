"""The inbox's sort by SLA due: the tickets without a running deadline get their own index range.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 17:00:00+00:00

``GET /tickets?sort=sla_due`` lists tickets by their earliest running deadline (the
``(due_at, ticket_id)`` index of ``sla_ticket_states``), then the tickets without one, most
recently updated first. That second half used to be the default order's index of ``tickets``
with an anti-join probe per ticket, so the page that crossed over skipped every ticket that has
a deadline (252 ms at 100k tickets, seconds at 10M). ``sla_inbox_rest`` holds exactly the live
tickets without a running deadline, indexed ``(ticket_updated_at DESC, ticket_id DESC)``: the
second half is a range of that index, and no page skips anything.

Kept by the SLA worker where it writes the summaries (docs/adr/0013): a ticket with a deadline
has no row, one without has a row with ``updated_at`` as the worker saw it. A row is written
only when a ticket gains or loses its deadline, or one without a deadline changes — a recompute
that moves deadlines writes none. A new ticket gets its row from an AFTER INSERT trigger (one
indexed insert, no statement of the request's), so it is listed before the worker has seen it.

On a big table: the table and the trigger come first (new tickets get rows from then on), then
existing live tickets without a running deadline are copied in batches of 10,000 by id, each
batch its own transaction (``ON CONFLICT DO NOTHING``: a row the worker already wrote is
fresher), then the index is built ``CONCURRENTLY`` so that the trigger's inserts are never
blocked. A retried, interrupted run resumes: the copy skips rows that exist, an invalid leftover
index is dropped and rebuilt.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 10_000

TRIGGER = (
    """
CREATE OR REPLACE FUNCTION sla_inbox_rest_on_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sla_inbox_rest (ticket_id, ticket_updated_at) VALUES (NEW.id, NEW.updated_at)
    ON CONFLICT (ticket_id) DO NOTHING;
    RETURN NULL;
END $$
""",
    "DROP TRIGGER IF EXISTS sla_inbox_rest_on_ticket ON tickets",
    "CREATE TRIGGER sla_inbox_rest_on_ticket AFTER INSERT ON tickets FOR EACH ROW"
    " WHEN (NEW.deleted_at IS NULL) EXECUTE FUNCTION sla_inbox_rest_on_ticket()",
)

# One batch of the copy: the next BATCH tickets by id (a primary-key range); deleted ones and
# ones with a running deadline advance the position but get no row. Returns the last id of the
# batch, NULL when none are left.
COPY_BATCH = """
    WITH batch AS (
        SELECT id, updated_at, deleted_at FROM tickets {after} ORDER BY id LIMIT {batch}
    ), copied AS (
        INSERT INTO sla_inbox_rest (ticket_id, ticket_updated_at)
        SELECT b.id, b.updated_at FROM batch b
         WHERE b.deleted_at IS NULL AND NOT EXISTS (
               SELECT 1 FROM sla_ticket_states s WHERE s.ticket_id = b.id AND s.due_at IS NOT NULL)
        ON CONFLICT (ticket_id) DO NOTHING
    )
    SELECT id FROM batch ORDER BY id DESC LIMIT 1
"""

INDEX = "ix_sla_inbox_rest_recent"


def upgrade() -> None:
    op.create_table(
        "sla_inbox_rest",
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column(
            "ticket_updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="tickets.updated_at as the SLA worker last saw it (the order among these).",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_sla_inbox_rest_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_sla_inbox_rest")),
        comment="Live tickets without a running deadline, for the inbox's sort by SLA due.",
    )
    for statement in TRIGGER:
        op.execute(statement)
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        first = sa.text(COPY_BATCH.format(after="", batch=BATCH))
        following = sa.text(COPY_BATCH.format(after="WHERE id > :after", batch=BATCH))
        after = bind.execute(first).scalar()
        while after is not None:
            after = bind.execute(following, {"after": after}).scalar()
        # A CONCURRENTLY build killed half-way leaves an INVALID index: drop it and rebuild.
        # Only the constant index name is joined in.
        op.execute(
            "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c"  # noqa: S608  # nosec B608
            f" ON c.oid = i.indexrelid WHERE c.relname = '{INDEX}'"
            f" AND NOT i.indisvalid) THEN DROP INDEX {INDEX}; END IF; END $$"
        )
        op.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX}"
            " ON sla_inbox_rest (ticket_updated_at DESC, ticket_id DESC)"
        )
        op.execute("ANALYZE sla_inbox_rest")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS sla_inbox_rest_on_ticket ON tickets")
    op.execute("DROP FUNCTION IF EXISTS sla_inbox_rest_on_ticket()")
    op.drop_table("sla_inbox_rest")
