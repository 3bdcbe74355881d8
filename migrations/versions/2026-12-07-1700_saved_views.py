"""Saved views: an agent's named inbox filters (filters, search and sort), private to them.

Revision ID: 0022
Revises: 0023
Create Date: 2026-12-07 17:00:00+00:00

One row per view; it goes with its user. The name is unique per user (case-insensitively), at
most one view per user is the default (a partial unique index), and the query is a JSON object
of the ticket list's filter parameters, bounded in size (the service validates its keys and
values; the CHECK keeps anything else from being stored).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0022"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False, comment="Whose view (only they see it)."),
        sa.Column(
            "name",
            sa.Text(),
            nullable=False,
            comment="Unique per user case-insensitively, 1-100 chars.",
        ),
        sa.Column(
            "query",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
            comment="The ticket list's filters and sort, by their query parameter names.",
        ),
        sa.Column(
            "position",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="Order in the menu (ascending).",
        ),
        sa.Column(
            "is_default",
            sa.Boolean(),
            server_default="false",
            nullable=False,
            comment="Opens when the inbox is loaded without filters (at most one per user).",
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="Last change.",
        ),
        sa.CheckConstraint(
            "char_length(name) BETWEEN 1 AND 100", name=op.f("ck_saved_views_name_length")
        ),
        sa.CheckConstraint(
            "jsonb_typeof(query) = 'object' AND octet_length(query::text) <= 4096",
            name=op.f("ck_saved_views_query_object"),
        ),
        sa.CheckConstraint("position >= 0", name=op.f("ck_saved_views_position_not_negative")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_saved_views_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        comment="Saved inbox views: an agent's named ticket-list filters (private).",
    )
    op.create_index(
        "uq_saved_views_user_id_name",
        "saved_views",
        ["user_id", sa.text("lower(name)")],
        unique=True,
    )
    op.create_index(
        "uq_saved_views_user_id_default",
        "saved_views",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )


def downgrade() -> None:
    op.drop_index("uq_saved_views_user_id_default", table_name="saved_views")
    op.drop_index("uq_saved_views_user_id_name", table_name="saved_views")
    op.drop_table("saved_views")
