"""SQL of reports: the metric facts (written by the feed consumer), their aggregates, and the
SLA clocks for attainment. Filters always apply to the ticket's current attributes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.arrays import as_arrays, insert_rows
from helpline.kit.feed import FeedConsumer
from helpline.kit.rows import AnyRow
from helpline.report.schemas import Scope

# The reports' consumer of the change feed (same visibility rule as the feed itself, ADR 0012).
FEED = FeedConsumer(table="metric_feed_positions", name="reports")


def _bucket(column: str) -> str:
    return f"date_trunc(:interval, {column} AT TIME ZONE :tz) AT TIME ZONE :tz"


def _durations(column: str, prefix: str) -> str:
    return (
        f" count({column}) AS {prefix}_n, avg({column}) AS {prefix}_avg,"
        f" percentile_cont(0.5) WITHIN GROUP (ORDER BY {column}) AS {prefix}_p50,"
        f" percentile_cont(0.9) WITHIN GROUP (ORDER BY {column}) AS {prefix}_p90"
    )


# -- reading reports -----------------------------------------------------------------------------
async def bucket_starts(session: AsyncSession, scope: Scope) -> list[datetime]:
    """Every bucket of the period, in order (local midnights of the zone; DST-safe)."""
    result = await session.execute(
        text(
            "SELECT g AT TIME ZONE :tz AS start FROM generate_series("
            " date_trunc(:interval, CAST(:start AS timestamptz) AT TIME ZONE :tz),"
            " CAST(:end AS timestamptz) AT TIME ZONE :tz - interval '1 microsecond',"
            " CAST('1 ' || :interval AS interval)) g"
        ),
        {"start": scope.start, "end": scope.end, "interval": scope.interval, "tz": scope.time_zone},
    )
    return list(result.scalars())


async def duration_buckets(
    session: AsyncSession, scope: Scope, *, kind: str, which: str, clock_kind: str | None
) -> list[AnyRow]:
    """Per bucket: count and mean/median/p90 of calendar, business and SLA-clock seconds.

    ``which``: ``any`` (every fact of ``kind``), ``first`` (seq 1) or ``final`` (solves no
    reopen followed: full resolution)."""
    where = [
        "f.kind = :kind",
        "f.occurred_at >= :start",
        "f.occurred_at < :end",
        scope.ticket_filter(),
    ]
    if which == "first":
        where.append("f.seq = 1")
    elif which == "final":
        where.append(
            "NOT EXISTS (SELECT 1 FROM ticket_metric_facts r WHERE r.ticket_id = f.ticket_id"
            " AND r.kind = 'reopened' AND r.seq >= f.seq)"
        )
    clock_join = ""
    clock_cols = " NULL AS clk_n, NULL AS clk_avg, NULL AS clk_p50, NULL AS clk_p90"
    if clock_kind is not None:
        clock_join = (
            " LEFT JOIN sla_clocks c ON c.ticket_id = f.ticket_id AND c.kind = :clock_kind"
            " AND c.cycle = 0 AND c.fulfilled_at IS NOT NULL"
        )
        clock_cols = _durations("c.used_seconds", "clk")
    result = await session.execute(
        text(
            # Only constant fragments are joined; every value is a bound parameter.
            f"SELECT {_bucket('f.occurred_at')} AS bucket, count(*) AS tickets,"  # noqa: S608  # nosec B608
            + _durations("f.calendar_seconds", "cal")
            + ","
            + _durations("f.business_seconds", "bus")
            + ","
            + clock_cols
            + " FROM ticket_metric_facts f JOIN tickets t ON t.id = f.ticket_id"
            + clock_join
            + f" WHERE {' AND '.join(where)} GROUP BY 1 ORDER BY 1"
        ),
        {**scope.params(), "kind": kind, "clock_kind": clock_kind},
    )
    return list(result.all())


async def backlog_opening(session: AsyncSession, scope: Scope) -> int:
    """Tickets open at the period's start: created + reopened - solved, before it."""
    result = await session.execute(
        text(
            "SELECT coalesce(sum(CASE f.kind WHEN 'solved' THEN -1 ELSE 1 END), 0)"  # noqa: S608  # nosec B608
            " FROM ticket_metric_facts f JOIN tickets t ON t.id = f.ticket_id"
            " WHERE f.kind IN ('created', 'solved', 'reopened') AND f.occurred_at < :start"
            f" AND {scope.ticket_filter()}"
        ),
        scope.params(),
    )
    return int(result.scalar_one())


async def backlog_moves(session: AsyncSession, scope: Scope) -> list[AnyRow]:
    result = await session.execute(
        text(
            f"SELECT {_bucket('f.occurred_at')} AS bucket,"  # noqa: S608  # nosec B608
            " count(*) FILTER (WHERE f.kind = 'created') AS created,"
            " count(*) FILTER (WHERE f.kind = 'reopened') AS reopened,"
            " count(*) FILTER (WHERE f.kind = 'solved') AS solved"
            " FROM ticket_metric_facts f JOIN tickets t ON t.id = f.ticket_id"
            " WHERE f.kind IN ('created', 'solved', 'reopened')"
            " AND f.occurred_at >= :start AND f.occurred_at < :end"
            f" AND {scope.ticket_filter()} GROUP BY 1 ORDER BY 1"
        ),
        scope.params(),
    )
    return list(result.all())


async def reopen_buckets(session: AsyncSession, scope: Scope) -> list[AnyRow]:
    """Per bucket of first solve: tickets first solved, and how many of them were reopened."""
    result = await session.execute(
        text(
            f"SELECT {_bucket('f.occurred_at')} AS bucket, count(*) AS solved,"  # noqa: S608  # nosec B608
            " count(*) FILTER (WHERE EXISTS (SELECT 1 FROM ticket_metric_facts r"
            "   WHERE r.ticket_id = f.ticket_id AND r.kind = 'reopened')) AS reopened_tickets"
            " FROM ticket_metric_facts f JOIN tickets t ON t.id = f.ticket_id"
            " WHERE f.kind = 'solved' AND f.seq = 1"
            " AND f.occurred_at >= :start AND f.occurred_at < :end"
            f" AND {scope.ticket_filter()} GROUP BY 1 ORDER BY 1"
        ),
        scope.params(),
    )
    return list(result.all())


async def reopen_events(session: AsyncSession, scope: Scope) -> list[AnyRow]:
    result = await session.execute(
        text(
            f"SELECT {_bucket('f.occurred_at')} AS bucket, count(*) AS reopens,"  # noqa: S608  # nosec B608
            " avg(f.calendar_seconds) AS after_avg"
            " FROM ticket_metric_facts f JOIN tickets t ON t.id = f.ticket_id"
            " WHERE f.kind = 'reopened' AND f.occurred_at >= :start AND f.occurred_at < :end"
            f" AND {scope.ticket_filter()} GROUP BY 1 ORDER BY 1"
        ),
        scope.params(),
    )
    return list(result.all())


VOLUME_KEYS = {
    "channel": "f.channel",
    "priority": "t.priority",
    "agent": "CAST(t.assigned_to AS text)",
}


async def volume_buckets(session: AsyncSession, scope: Scope, group_by: str) -> list[AnyRow]:
    key = VOLUME_KEYS[group_by]  # a constant of this module, chosen by an enum
    result = await session.execute(
        text(
            f"SELECT {_bucket('f.occurred_at')} AS bucket, {key} AS key, count(*) AS tickets"  # noqa: S608  # nosec B608
            " FROM ticket_metric_facts f JOIN tickets t ON t.id = f.ticket_id"
            " WHERE f.kind = 'created' AND f.occurred_at >= :start AND f.occurred_at < :end"
            f" AND {scope.ticket_filter()} GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        scope.params(),
    )
    return list(result.all())


async def attainment_buckets(session: AsyncSession, scope: Scope) -> list[AnyRow]:
    """SLA clocks by outcome: met (fulfilled, never breached) at fulfilment, breached at breach."""
    outcome = "coalesce(c.breached_at, c.fulfilled_at)"
    result = await session.execute(
        text(
            f"SELECT {_bucket(outcome)} AS bucket, c.kind,"  # noqa: S608  # nosec B608
            " count(*) FILTER (WHERE c.breached_at IS NULL) AS met,"
            " count(*) FILTER (WHERE c.breached_at IS NOT NULL) AS breached,"
            " count(*) FILTER (WHERE c.breached_at IS NULL AND c.business) AS met_business,"
            " count(*) FILTER (WHERE c.business) AS business"
            " FROM sla_clocks c JOIN tickets t ON t.id = c.ticket_id"
            " WHERE (c.breached_at IS NOT NULL OR c.fulfilled_at IS NOT NULL)"
            f" AND {outcome} >= :start AND {outcome} < :end"
            f" AND {scope.ticket_filter()} GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        scope.params(),
    )
    return list(result.all())


# -- writing facts -------------------------------------------------------------------------------
async def load_tickets(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[AnyRow]:
    """The tickets' creation, mailbox and initial status (from the `created` history row)."""
    result = await session.execute(
        text(
            "SELECT t.id, t.created_at, t.mailbox_id, t.status,"
            " (SELECT h.new_value->>'status' FROM ticket_history h"
            "   WHERE h.ticket_id = t.id AND h.change_type = 'created'"
            "   ORDER BY h.ticket_id, h.id LIMIT 1) AS initial_status"
            " FROM tickets t WHERE t.id = ANY(:ids)"
        ),
        {"ids": list(ids)},
    )
    return list(result.all())


async def load_status_changes(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[AnyRow]:
    result = await session.execute(
        text(
            "SELECT ticket_id, timestamp, changed_by, old_value #>> '{}' AS old_status,"
            " new_value #>> '{}' AS new_status FROM ticket_history"
            " WHERE ticket_id = ANY(:ids) AND change_type = 'status_changed'"
            " ORDER BY ticket_id, id"
        ),
        {"ids": list(ids)},
    )
    return list(result.all())


async def first_responses(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[AnyRow]:
    """Each ticket's first public message by staff (no note, no automatic or rule message)."""
    result = await session.execute(
        text(
            "SELECT DISTINCT ON (ticket_id) ticket_id, timestamp, sender_id FROM conversations"
            " WHERE ticket_id = ANY(:ids) AND sender_type = 'agent' AND NOT is_internal"
            " ORDER BY ticket_id, timestamp, id"
        ),
        {"ids": list(ids)},
    )
    return list(result.all())


async def fact_keys(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> set[tuple[uuid.UUID, str, int]]:
    result = await session.execute(
        text("SELECT ticket_id, kind, seq FROM ticket_metric_facts WHERE ticket_id = ANY(:ids)"),
        {"ids": list(ids)},
    )
    return {(r.ticket_id, r.kind, r.seq) for r in result}


FACT_TYPES = {
    "ticket_id": "uuid",
    "kind": "text",
    "seq": "int",
    "occurred_at": "timestamptz",
    "calendar_seconds": "bigint",
    "business_seconds": "bigint",
    "agent_id": "uuid",
    "channel": "text",
}
INSERT_FACTS = text(
    insert_rows("ticket_metric_facts", FACT_TYPES, "ON CONFLICT (ticket_id, kind, seq) DO NOTHING")
)


async def insert_facts(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert-only: a fact already written (by another worker too) is left as it is. One
    statement with the columns as arrays (kit/arrays.py)."""
    if not rows:
        return 0
    result = await session.execute(INSERT_FACTS, as_arrays(rows, FACT_TYPES))
    return int(getattr(result, "rowcount", 0) or 0)


async def tickets_after(
    session: AsyncSession, after: uuid.UUID | None, limit: int
) -> list[uuid.UUID]:
    """The next live tickets in id order (keyset over the primary key), for the backfill."""
    result = await session.execute(
        text(
            "SELECT id FROM tickets WHERE deleted_at IS NULL"
            " AND (CAST(:after AS uuid) IS NULL OR id > CAST(:after AS uuid))"
            " ORDER BY id LIMIT :limit"
        ),
        {"after": after, "limit": limit},
    )
    return list(result.scalars())
