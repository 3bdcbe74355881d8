"""The change feed waits only for this database's writers, not for the whole server's.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 08:00:00+00:00

``helpline_feed_horizon(snap)`` replaces ``pg_snapshot_xmin(pg_current_snapshot())`` as the
feed's visibility bound (docs/adr/0012-feed-visibility.md): an event is shown when its xid is
below the horizon, the smallest of

- the snapshot's xmax (later transactions get larger ids),
- the id of every transaction *of this database* that holds one now (``pg_stat_activity``,
  plus prepared transactions), and
- the id of every transaction that was running in ``snap`` and has committed events since
  (so one that committed between the reader's snapshot and its look at ``pg_stat_activity``
  is not passed).

Transactions of other databases cannot write this database's events, so they no longer count.
It needs READ COMMITTED (each statement of the function sees a newer snapshot than ``snap``)
and a primary (a standby's ``pg_stat_activity`` does not show the primary's writers): otherwise
it falls back to the server-wide ``pg_snapshot_xmin(snap)``, which is always safe.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HORIZON = r"""
CREATE FUNCTION helpline_feed_horizon(snap pg_snapshot) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    xmax bigint := (pg_snapshot_xmax(snap)::text)::bigint;
    running bigint;
    late bigint;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' OR pg_is_in_recovery() THEN
        RETURN (pg_snapshot_xmin(snap)::text)::bigint;
    END IF;
    IF pg_snapshot_xmin(snap) = pg_snapshot_xmax(snap) THEN
        RETURN xmax;  -- nothing was running anywhere: the quiet case costs nothing more
    END IF;
    PERFORM pg_stat_clear_snapshot();  -- pg_stat_activity as of now, not as first read
    -- backend_xid is a 32-bit xid: widen it next to xmax (running ids are within 2^31 of it).
    SELECT min(CASE WHEN d >= 2147483648 THEN xmax + (4294967296 - d) ELSE xmax - d END)
      INTO running
      FROM (SELECT ((xmax % 4294967296) - (x::text)::bigint + 4294967296) % 4294967296 AS d
              FROM (SELECT a.backend_xid AS x FROM pg_stat_get_activity(NULL) AS a
                     WHERE a.datid = (SELECT oid FROM pg_database
                                       WHERE datname = current_database())
                       AND a.backend_xid IS NOT NULL
                    UNION ALL  -- prepared transactions have no backend
                    SELECT p.transaction FROM pg_prepared_xact() AS p
                      JOIN pg_database d ON d.oid = p.dbid
                     WHERE d.datname = current_database()
                       AND current_setting('max_prepared_transactions')::int > 0) AS ours
           ) AS widened;
    -- One index probe per running id (= ANY on ix_events_xid_id), never a scan of events.
    SELECT min(e.xid) INTO late
      FROM events e
     WHERE e.xid = ANY (ARRAY(SELECT (x::text)::bigint FROM pg_snapshot_xip(snap) AS x));
    RETURN least(xmax, running, late);
END $$
"""
COMMENT = """
COMMENT ON FUNCTION helpline_feed_horizon(pg_snapshot) IS
    'Events with a smaller xid than this are settled for a reader with snapshot snap: no '
    'transaction of this database can still add one (docs/adr/0012-feed-visibility.md).'
"""


def upgrade() -> None:
    op.execute(HORIZON)
    op.execute(COMMENT)


def downgrade() -> None:
    op.execute("DROP FUNCTION helpline_feed_horizon(pg_snapshot)")
