"""The inbox's sort by SLA due reads one table: a row per live ticket in ``sla_inbox_order``.

Revision ID: 0025
Revises: 0019
Create Date: 2026-12-07 17:00:00+00:00

``GET /tickets?sort=sla_due`` lists tickets by their earliest running deadline, then the tickets
without one, most recently updated first. The second half used to be the default order's index
of ``tickets`` with an anti-join probe per ticket, so the page that crossed over had to skip every
ticket that has a deadline (252 ms at 100k tickets, seconds at 10M). Now each half is a range of
a partial index of ``sla_inbox_order`` (``ix_sla_inbox_order_due``: ``(due_at, ticket_id) WHERE
due_at IS NOT NULL``; ``ix_sla_inbox_order_rest``: ``(ticket_updated_at DESC, ticket_id DESC)
WHERE due_at IS NULL``): no page skips anything.

The SLA worker keeps the rows where it writes the tickets' summaries (docs/adr/0013); a new
ticket gets its row from an AFTER INSERT trigger (one indexed insert, no statement of the
request's), so it is in the order before the worker has seen it.

On a big table: the table and the trigger are created first (new tickets get rows from then on),
then existing live tickets are copied in batches of 10,000 by id, each batch its own transaction
(``ON CONFLICT DO NOTHING``: a row the worker already wrote is fresher), then the two indexes are
built ``CONCURRENTLY`` — the trigger's inserts are never blocked. A retried, interrupted run
resumes: the copy skips rows that exist, an invalid leftover index is dropped and rebuilt.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 10_000

TRIGGER = (
    """
CREATE OR REPLACE FUNCTION sla_inbox_order_on_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sla_inbox_order (ticket_id, due_at, ticket_updated_at)
    VALUES (NEW.id, NULL, NEW.updated_at)
    ON CONFLICT (ticket_id) DO NOTHING;
    RETURN NULL;
END $$
""",
    "DROP TRIGGER IF EXISTS sla_inbox_order_on_ticket ON tickets",
    "CREATE TRIGGER sla_inbox_order_on_ticket AFTER INSERT ON tickets FOR EACH ROW"
    " WHEN (NEW.deleted_at IS NULL) EXECUTE FUNCTION sla_inbox_order_on_ticket()",
)

# One batch of the copy: the next BATCH tickets by id (a primary-key range; deleted ones advance
# the position but get no row); returns the last id of the batch, NULL when none are left.
COPY_BATCH = """
    WITH batch AS (
        SELECT id, updated_at, deleted_at FROM tickets {after} ORDER BY id LIMIT {batch}
    ), copied AS (
        INSERT INTO sla_inbox_order (ticket_id, due_at, ticket_updated_at)
        SELECT b.id, s.due_at, b.updated_at FROM batch b
          LEFT JOIN sla_ticket_states s ON s.ticket_id = b.id
         WHERE b.deleted_at IS NULL
        ON CONFLICT (ticket_id) DO NOTHING
    )
    SELECT id FROM batch ORDER BY id DESC LIMIT 1
"""

INDEXES = {
    "ix_sla_inbox_order_due": "sla_inbox_order (due_at, ticket_id) WHERE due_at IS NOT NULL",
    "ix_sla_inbox_order_rest": "sla_inbox_order (ticket_updated_at DESC, ticket_id DESC)"
    " WHERE due_at IS NULL",
}


def upgrade() -> None:
    op.execute(
        "CREATE TABLE IF NOT EXISTS sla_inbox_order ("
        " ticket_id uuid NOT NULL,"
        " due_at timestamptz,"
        " ticket_updated_at timestamptz NOT NULL,"
        " updated_at timestamptz NOT NULL DEFAULT now(),"
        " CONSTRAINT pk_sla_inbox_order PRIMARY KEY (ticket_id),"
        " CONSTRAINT fk_sla_inbox_order_ticket_id_tickets FOREIGN KEY (ticket_id)"
        " REFERENCES tickets (id) ON DELETE CASCADE)"
    )
    op.execute(
        "COMMENT ON TABLE sla_inbox_order IS"
        " 'Per live ticket: its place in the inbox''s sort by SLA due (ADR 0013).'"
    )
    op.execute(
        "COMMENT ON COLUMN sla_inbox_order.due_at IS"
        " 'Earliest deadline of a running clock; null: none.'"
    )
    op.execute(
        "COMMENT ON COLUMN sla_inbox_order.ticket_updated_at IS"
        " 'tickets.updated_at as the worker last saw it (orders the tickets without one).'"
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
        for name, target in INDEXES.items():
            # A CONCURRENTLY build killed half-way leaves an INVALID index: drop it and rebuild.
            op.execute(
                "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c"  # noqa: S608
                " ON c.oid = i.indexrelid WHERE c.relname = '" + name + "'"
                " AND NOT i.indisvalid) THEN DROP INDEX " + name + "; END IF; END $$"
            )
            op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {target}")
        op.execute("ANALYZE sla_inbox_order")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS sla_inbox_order_on_ticket ON tickets")
    op.execute("DROP FUNCTION IF EXISTS sla_inbox_order_on_ticket()")
    op.execute("DROP TABLE IF EXISTS sla_inbox_order")
