"""Audit trigger on webhook endpoints: create, update, enable/disable, secret rotation, delete.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 07:40:00+00:00

Webhook endpoints send ticket data elsewhere, so changing one is an admin change like a user's or
an API key's, audited the same way: by a trigger in the same transaction, with the actor context
the request, CLI or worker set (helpline_audit() from 0003). Secrets never reach the log (a
rotation records ``"secret": "[changed]"``); the delivery bookkeeping (failure counter, failing
since) is not a change — but the worker disabling a failing endpoint is (actor ``system``).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Never logged (secrets), or bookkeeping whose change alone is not an admin change.
HIDDEN = "'{secret,previous_secret,consecutive_failures,failing_since,updated_at}'::text[]"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE FUNCTION webhook_endpoints_audit() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            changes jsonb;
            action text := 'webhook.updated';
        BEGIN
            IF TG_OP = 'INSERT' THEN
                PERFORM helpline_audit('webhook.created', 'webhook', NEW.id::text,
                                       to_jsonb(NEW) - {HIDDEN});
            ELSIF TG_OP = 'DELETE' THEN
                PERFORM helpline_audit('webhook.deleted', 'webhook', OLD.id::text,
                                       to_jsonb(OLD) - {HIDDEN});
            ELSE
                changes := helpline_jsonb_diff(to_jsonb(OLD) - {HIDDEN},
                                               to_jsonb(NEW) - {HIDDEN});
                IF NEW.secret IS DISTINCT FROM OLD.secret THEN
                    changes := coalesce(changes, '{{}}'::jsonb) || '{{"secret": "[changed]"}}';
                    action := 'webhook.secret_rotated';
                ELSIF OLD.enabled AND NOT NEW.enabled THEN
                    action := 'webhook.disabled';
                ELSIF NOT OLD.enabled AND NEW.enabled THEN
                    action := 'webhook.enabled';
                END IF;
                IF changes IS NULL THEN
                    RETURN NULL;  -- delivery bookkeeping only
                END IF;
                PERFORM helpline_audit(action, 'webhook', NEW.id::text, changes);
            END IF;
            RETURN NULL;
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER webhook_endpoints_audit AFTER INSERT OR UPDATE OR DELETE "
        "ON webhook_endpoints FOR EACH ROW EXECUTE FUNCTION webhook_endpoints_audit()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER webhook_endpoints_audit ON webhook_endpoints")
    op.execute("DROP FUNCTION webhook_endpoints_audit()")
