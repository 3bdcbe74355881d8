"""Full-text search over messages and customers' names: GIN indexes on their tsvectors.

Revision ID: 0021
Revises: 0016
Create Date: 2026-12-07 14:00:00+00:00

An expression index, not a stored column: a write pays only the index entry (no table rewrite on
a live database, no trigger, no wider rows), and the query repeats the indexed expression
(``to_tsvector('english', message)``). Built ``CONCURRENTLY`` outside the migration's
transaction, so a 33M-message table keeps taking writes while it builds; ``IF NOT EXISTS`` makes a
retried, interrupted run finish the job (an invalid leftover of a killed build is dropped first).
Names use the `simple` configuration (no stemming, no stop words: "Ana" stays "ana").
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_conversations_message_search": "conversations "
    "USING gin (to_tsvector('english'::regconfig, message))",
    "ix_users_name_search": "users USING gin (to_tsvector('simple'::regconfig, name))",
}


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name, target in INDEXES.items():
            # A CONCURRENTLY build killed half-way leaves an INVALID index: drop it and rebuild.
            op.execute(
                "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c"  # noqa: S608
                " ON c.oid = i.indexrelid WHERE c.relname = '" + name + "'"
                " AND NOT i.indisvalid) THEN DROP INDEX " + name + "; END IF; END $$"
            )
            op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {target}")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in INDEXES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
