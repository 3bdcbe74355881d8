"""Ticket history rows of field changes carry the ticket version they produced.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 07:45:00+00:00

A PATCH based on an older version (``If-Match: "N"``) is merged when none of its fields changed
after version N: ``ticket_history.version`` (the version a field change produced) tells which
fields did. Rows written before this migration have no version (NULL) and count as "changed at
an unknown version" — a stale change to such a field is refused as before, never merged blindly.
Only the field rows of ``tickets_history`` get a version; metadata and message rows do not
conflict with field edits.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HISTORY_WITH_VERSION = r"""
CREATE FUNCTION helpline_history(
    p_ticket uuid, p_type text, p_old jsonb, p_new jsonb, p_version integer
) RETURNS void LANGUAGE sql AS $$
    INSERT INTO ticket_history
        (ticket_id, change_type, changed_by, old_value, new_value, change_set_id, request_id,
         version)
    VALUES (p_ticket, p_type, helpline_actor_user(), p_old, p_new, helpline_change_set_id(),
            helpline_setting('request_id'), p_version)
$$;
"""


def _tickets_history(with_version: bool) -> str:
    v = ", NEW.version" if with_version else ""
    return rf"""
CREATE OR REPLACE FUNCTION tickets_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM helpline_history(NEW.id, 'created', NULL, jsonb_build_object(
            'title', NEW.title, 'status', NEW.status, 'priority', NEW.priority,
            'assigned_to', NEW.assigned_to, 'customer_id', NEW.customer_id){v});
        RETURN NULL;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM helpline_history(NEW.id, 'status_changed', to_jsonb(OLD.status),
                                 to_jsonb(NEW.status){v});
    END IF;
    IF NEW.priority IS DISTINCT FROM OLD.priority THEN
        PERFORM helpline_history(NEW.id, 'priority_changed', to_jsonb(OLD.priority),
                                 to_jsonb(NEW.priority){v});
    END IF;
    IF NEW.assigned_to IS DISTINCT FROM OLD.assigned_to THEN
        PERFORM helpline_history(NEW.id, 'assignee_changed', to_jsonb(OLD.assigned_to),
                                 to_jsonb(NEW.assigned_to){v});
    END IF;
    IF NEW.title IS DISTINCT FROM OLD.title THEN
        PERFORM helpline_history(NEW.id, 'title_changed', to_jsonb(OLD.title),
                                 to_jsonb(NEW.title){v});
    END IF;
    IF NEW.description IS DISTINCT FROM OLD.description THEN
        PERFORM helpline_history(NEW.id, 'description_changed', to_jsonb(OLD.description),
                                 to_jsonb(NEW.description){v});
    END IF;
    IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
        PERFORM helpline_history(NEW.id, 'deleted', NULL, to_jsonb(NEW.deleted_at){v});
    ELSIF OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN
        PERFORM helpline_history(NEW.id, 'restored', to_jsonb(OLD.deleted_at), NULL{v});
    END IF;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.add_column(
        "ticket_history",
        sa.Column(
            "version",
            sa.Integer(),
            nullable=True,
            comment="Ticket version a field change produced (NULL: other kinds, older rows).",
        ),
    )
    op.execute(HISTORY_WITH_VERSION)
    op.execute(_tickets_history(with_version=True))


def downgrade() -> None:
    op.execute(_tickets_history(with_version=False))
    op.execute("DROP FUNCTION helpline_history(uuid, text, jsonb, jsonb, integer)")
    op.drop_column("ticket_history", "version")
