"""Drafts: what a user has typed, unsent, in a ticket's composer (server-side autosave).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 11:40:00+00:00

One row per user and ticket, replaced by each autosave, deleted when the reply is sent; it goes
with its ticket or user. Kept server-side so that it follows the user to another browser.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_drafts",
        sa.Column("user_id", sa.Uuid(), nullable=False, comment="Whose draft."),
        sa.Column("ticket_id", sa.Uuid(), nullable=False, comment="The ticket it answers."),
        sa.Column("body", sa.Text(), nullable=False, comment="The text typed so far."),
        sa.Column(
            "is_internal",
            sa.Boolean(),
            server_default="false",
            nullable=False,
            comment="Meant as an internal note.",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("char_length(body) <= 100000", name=op.f("ck_ticket_drafts_body_size")),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_drafts_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_ticket_drafts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "ticket_id", name=op.f("pk_ticket_drafts")),
        comment="Unsent replies and notes, per user and ticket (the composer's autosave).",
    )
    op.create_index("ix_ticket_drafts_ticket_id", "ticket_drafts", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_ticket_drafts_ticket_id", table_name="ticket_drafts")
    op.drop_table("ticket_drafts")
