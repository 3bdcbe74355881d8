"""Ticket version/updated_at trigger and monthly audit_log partitions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 23:55:00+00:00

- ``tickets_touch``: BEFORE UPDATE on tickets; when anything changed, version += 1 and
  updated_at = clock_timestamp(). The application never writes ``version`` itself, so every path
  (API, CLI, SQL) keeps the ETag honest.
- ``helpline_ensure_audit_partitions(from, months)``: creates missing monthly partitions of
  audit_log (``audit_log_pYYYYMM``); called here for last month .. three months ahead, and again by
  ``helpline audit rotate``. A DEFAULT partition catches rows only if a partition is missing.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION tickets_touch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (NEW.title, NEW.description, NEW.status, NEW.priority, NEW.assigned_to,
                NEW.customer_id, NEW.deleted_at, NEW.updated_at)
               IS DISTINCT FROM
               (OLD.title, OLD.description, OLD.status, OLD.priority, OLD.assigned_to,
                OLD.customer_id, OLD.deleted_at, OLD.updated_at) THEN
                NEW.version := OLD.version + 1;
                NEW.updated_at := greatest(clock_timestamp(), OLD.updated_at);
            ELSE
                NEW.version := OLD.version;
            END IF;
            RETURN NEW;
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER tickets_touch BEFORE UPDATE ON tickets "
        "FOR EACH ROW EXECUTE FUNCTION tickets_touch()"
    )
    op.execute(
        """
        CREATE FUNCTION helpline_ensure_audit_partitions(start_month date, months integer)
        RETURNS integer LANGUAGE plpgsql AS $$
        DECLARE
            first date := date_trunc('month', start_month)::date;
            created integer := 0;
            lower_bound date;
            part text;
        BEGIN
            FOR i IN 0 .. months - 1 LOOP
                lower_bound := (first + make_interval(months => i))::date;
                part := 'audit_log_p' || to_char(lower_bound, 'YYYYMM');
                IF to_regclass(part) IS NULL THEN
                    EXECUTE format(
                        'CREATE TABLE %I PARTITION OF audit_log FOR VALUES FROM (%L) TO (%L)',
                        part, lower_bound, (lower_bound + interval '1 month')::date);
                    created := created + 1;
                END IF;
            END LOOP;
            RETURN created;
        END $$;
        """
    )
    op.execute("CREATE TABLE audit_log_p_default PARTITION OF audit_log DEFAULT")
    op.execute(
        "SELECT helpline_ensure_audit_partitions("
        "(date_trunc('month', now()) - interval '1 month')::date, 5)"
    )


def downgrade() -> None:
    op.execute(
        """
        DO $$
        DECLARE part record;
        BEGIN
            FOR part IN SELECT c.relname FROM pg_inherits i
                JOIN pg_class c ON c.oid = i.inhrelid
                JOIN pg_class p ON p.oid = i.inhparent
               WHERE p.relname = 'audit_log'
            LOOP
                EXECUTE format('DROP TABLE %I', part.relname);
            END LOOP;
        END $$;
        """
    )
    op.execute("DROP FUNCTION helpline_ensure_audit_partitions(date, integer)")
    op.execute("DROP TRIGGER tickets_touch ON tickets")
    op.execute("DROP FUNCTION tickets_touch()")
