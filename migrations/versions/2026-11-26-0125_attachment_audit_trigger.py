"""Audit trigger on attachments: upload, bind and delete events with the request's actor.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 01:25:00+00:00

Uploads (INSERT), binding to a message (conversation_id set) and deletion (gc or cascade) are
data changes like any other, so the database records them in the same transaction, with the
actor context that the request or CLI job set (helpline_audit() from 0003). The storage key is
the content hash, not a secret; file contents are never recorded.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION attachments_audit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                PERFORM helpline_audit('attachment.uploaded', 'attachment', NEW.id::text,
                    jsonb_build_object('filename', NEW.filename, 'content_type', NEW.content_type,
                                       'size', NEW.size, 'sha256', NEW.sha256));
            ELSIF TG_OP = 'UPDATE' THEN
                IF NEW.conversation_id IS DISTINCT FROM OLD.conversation_id THEN
                    PERFORM helpline_audit('attachment.bound', 'attachment', NEW.id::text,
                        jsonb_build_object('conversation_id', NEW.conversation_id,
                                           'previous_conversation_id', OLD.conversation_id));
                END IF;
            ELSE
                PERFORM helpline_audit('attachment.deleted', 'attachment', OLD.id::text,
                    jsonb_build_object('sha256', OLD.sha256, 'size', OLD.size,
                                       'was_bound', OLD.conversation_id IS NOT NULL));
            END IF;
            RETURN NULL;
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER attachments_audit AFTER INSERT OR UPDATE OR DELETE ON attachments "
        "FOR EACH ROW EXECUTE FUNCTION attachments_audit()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER attachments_audit ON attachments")
    op.execute("DROP FUNCTION attachments_audit()")
