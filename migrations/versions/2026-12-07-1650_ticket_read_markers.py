"""Unread markers: how far each staff user has read each ticket.

Revision ID: 0023
Revises: 0019
Create Date: 2026-12-07 16:50:00+00:00

One row per staff user and ticket: the ticket version they last had open
(`PUT /api/v1/tickets/{id}/read`). A ticket is unread for them while its version is higher —
every change of the ticket, its metadata or its conversation bumps it — or when there is no row
(never opened, or marked unread). The ticket list computes that per row in its own statement.

``ticket_reads_follow_own_change()``: a user's own change is no news to them. After a ticket
update by a user who had read every earlier version, their marker follows to the new version.
Fired only when there is an acting user (``WHEN``), so system, rule and bulk-load writes pay
nothing; a user with no marker (who has not read the ticket) keeps none. A new ticket has no
marker: creating one is a write of its own on the hot path (an insert with two foreign-key
checks per create), and the console opens the ticket it created, which reads it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOLLOW = """
CREATE FUNCTION ticket_reads_follow_own_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    actor uuid := helpline_actor_user();
BEGIN
    UPDATE ticket_reads
       SET seen_version = NEW.version, seen_at = now()
     WHERE user_id = actor AND ticket_id = NEW.id AND seen_version >= OLD.version;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "ticket_reads",
        sa.Column("user_id", sa.Uuid(), nullable=False, comment="Who read it."),
        sa.Column("ticket_id", sa.Uuid(), nullable=False, comment="The ticket."),
        sa.Column(
            "seen_version",
            sa.Integer(),
            nullable=False,
            comment="The ticket version they last had open.",
        ),
        sa.Column(
            "seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_reads_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_ticket_reads_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "ticket_id", name=op.f("pk_ticket_reads")),
        comment="Per staff user and ticket: the version last opened (unread markers).",
    )
    op.create_index("ix_ticket_reads_ticket_id", "ticket_reads", ["ticket_id"])
    op.execute(FOLLOW)
    op.execute(
        "CREATE TRIGGER ticket_reads_follow_own_update AFTER UPDATE ON tickets "
        "FOR EACH ROW WHEN (NEW.version > OLD.version AND helpline_actor_user() IS NOT NULL) "
        "EXECUTE FUNCTION ticket_reads_follow_own_change()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER ticket_reads_follow_own_update ON tickets")
    op.execute("DROP FUNCTION ticket_reads_follow_own_change()")
    op.drop_index("ix_ticket_reads_ticket_id", table_name="ticket_reads")
    op.drop_table("ticket_reads")
