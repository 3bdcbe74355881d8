"""SQL of the report rollups: zones, per-ticket sync state, delta upserts and the reads.

Reads take whole local days of one zone: a bucket is ``date_trunc(interval, day)`` at local
midnight, so weeks and months are sums of days. Filters are the key columns (the ticket's current
attributes, as the facts' reads use)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.arrays import insert_rows
from helpline.kit.rows import AnyRow
from helpline.report.schemas import Scope


# -- zones ---------------------------------------------------------------------------------------
async def sync_zones(session: AsyncSession) -> dict[str, bool]:
    """Every zone to keep (UTC and the SLA calendars' zones) → ready. A zone added while no fact
    exists is ready at once (there is nothing to roll up); otherwise once a backfill ran."""
    await session.execute(
        text(
            "INSERT INTO report_rollup_zones (zone, ready)"
            " SELECT z, NOT EXISTS (SELECT 1 FROM ticket_metric_facts)"
            " FROM (SELECT 'UTC' AS z UNION SELECT time_zone FROM sla_calendars) zs"
            " WHERE z NOT IN (SELECT zone FROM report_rollup_zones)"
            " ON CONFLICT (zone) DO NOTHING"
        )
    )
    rows = await session.execute(text("SELECT zone, ready FROM report_rollup_zones"))
    return {r.zone: r.ready for r in rows}


async def zone_ready(session: AsyncSession, zone: str) -> bool:
    result = await session.execute(
        text("SELECT ready FROM report_rollup_zones WHERE zone = :zone"), {"zone": zone}
    )
    return bool(result.scalar_one_or_none())


async def mark_ready(session: AsyncSession, zones: Sequence[str]) -> None:
    await session.execute(
        text("UPDATE report_rollup_zones SET ready = true WHERE zone = ANY(:zones)"),
        {"zones": list(zones)},
    )


# -- per-ticket state ----------------------------------------------------------------------------
async def lock_states(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, AnyRow]:
    """The tickets' sync states, locked in id order (created empty when missing), so the
    consumer, a backfill and a second worker serialise per ticket and never deadlock."""
    ids = sorted(set(ids))
    await session.execute(
        text(
            "INSERT INTO ticket_rollup_states (ticket_id) SELECT unnest(CAST(:ids AS uuid[]))"
            " ORDER BY 1 ON CONFLICT (ticket_id) DO NOTHING"
        ),
        {"ids": ids},
    )
    result = await session.execute(
        text(
            "SELECT ticket_id, live, priority, team_id, mailbox_id, channel, assignee_id, facts,"
            " zones FROM ticket_rollup_states WHERE ticket_id = ANY(:ids)"
            " ORDER BY ticket_id FOR UPDATE"
        ),
        {"ids": ids},
    )
    return {r.ticket_id: r for r in result}


async def ticket_keys(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[AnyRow]:
    """The tickets' current key attributes (and whether they are deleted)."""
    result = await session.execute(
        text(
            "SELECT id, priority, team_id, mailbox_id, assigned_to, deleted_at FROM tickets"
            " WHERE id = ANY(:ids)"
        ),
        {"ids": list(ids)},
    )
    return list(result.all())


async def ticket_facts(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[AnyRow]:
    result = await session.execute(
        text(
            "SELECT ticket_id, kind, seq, occurred_at, calendar_seconds, business_seconds, channel"
            " FROM ticket_metric_facts WHERE ticket_id = ANY(:ids) ORDER BY ticket_id, id"
        ),
        {"ids": list(ids)},
    )
    return list(result.all())


async def save_states(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    await session.execute(
        text(
            "UPDATE ticket_rollup_states s SET live = :live, priority = :priority,"
            " team_id = :team_id, mailbox_id = :mailbox_id, channel = :channel,"
            " assignee_id = :assignee_id, facts = :facts, zones = :zones"
            " WHERE s.ticket_id = :ticket_id"
        ),
        rows,
    )


async def purged_tickets(session: AsyncSession, limit: int) -> list[uuid.UUID]:
    """Tickets with a sync state but no row: purged (hard-deleted) since their last sync.

    An anti-join of the states with the tickets (both by primary key): the hourly maintenance
    job's scan, not the consumer's."""
    result = await session.execute(
        text(
            "SELECT s.ticket_id FROM ticket_rollup_states s WHERE NOT EXISTS"
            " (SELECT 1 FROM tickets t WHERE t.id = s.ticket_id) ORDER BY 1 LIMIT :limit"
        ),
        {"limit": limit},
    )
    return list(result.scalars())


async def forget(session: AsyncSession, ids: Sequence[uuid.UUID]) -> None:
    """Purged tickets whose contributions were taken away: their facts and states go."""
    await session.execute(
        text(
            "WITH gone AS (DELETE FROM ticket_rollup_states WHERE ticket_id = ANY(:ids)"
            " RETURNING ticket_id)"
            " DELETE FROM ticket_metric_facts f USING gone WHERE f.ticket_id = gone.ticket_id"
        ),
        {"ids": list(ids)},
    )


KEY_TYPES = {
    "zone": "text",
    "grain": "smallint",
    "kind": "text",
    "assignee_id": "uuid",
    "day": "date",
    "priority": "text",
    "team_id": "uuid",
    "mailbox_id": "uuid",
    "channel": "text",
}
UPSERT = text(
    insert_rows(
        "report_rollups",
        {
            **KEY_TYPES,
            "n": "bigint",
            "cal_n": "bigint",
            "cal_sum": "bigint",
            "bus_n": "bigint",
            "bus_sum": "bigint",
        },
        "ON CONFLICT ON CONSTRAINT pk_report_rollups DO UPDATE SET"
        " n = report_rollups.n + excluded.n, cal_n = report_rollups.cal_n + excluded.cal_n,"
        " cal_sum = report_rollups.cal_sum + excluded.cal_sum,"
        " bus_n = report_rollups.bus_n + excluded.bus_n,"
        " bus_sum = report_rollups.bus_sum + excluded.bus_sum",
    )
)
UPSERT_BIN = text(
    insert_rows(
        "report_rollup_bins",
        {**KEY_TYPES, "measure": "smallint", "bin": "smallint", "count": "bigint"},
        "ON CONFLICT ON CONSTRAINT pk_report_rollup_bins DO UPDATE SET"
        " count = report_rollup_bins.count + excluded.count",
    )
)


async def apply_deltas(
    session: AsyncSession, rows: dict[str, list[Any]], bins: dict[str, list[Any]]
) -> None:
    """Add the deltas to their rows and bins: one statement each, the columns as arrays,
    rows in key order (concurrent syncs lock rows in one order)."""
    if rows["zone"]:
        await session.execute(UPSERT, rows)
    if bins["zone"]:
        await session.execute(UPSERT_BIN, bins)


# -- reading -------------------------------------------------------------------------------------
BUCKET = "(date_trunc(:interval, CAST(r.day AS timestamp)) AT TIME ZONE :tz)"


def _where(scope: Scope, grain: int) -> str:
    """Constant SQL over ``r``; values are bound parameters of :func:`_params`."""
    parts = ["r.zone = :tz", "r.grain = :grain", "r.day >= :d0", "r.day < :d1"]
    if scope.agent is not None:
        parts.append("r.assignee_id = :agent")
    if scope.priority is not None:
        parts.append("r.priority = :priority")
    if scope.mailbox is not None:
        parts.append("r.mailbox_id = :mailbox")
    if scope.team is not None:
        parts.append("r.team_id = :team")
    return " AND ".join(parts)


def _params(scope: Scope, grain: int, d0: date, d1: date) -> dict[str, Any]:
    return {
        "tz": scope.time_zone,
        "interval": scope.interval,
        "grain": grain,
        "d0": d0,
        "d1": d1,
        "agent": scope.agent,
        "priority": scope.priority,
        "mailbox": scope.mailbox,
        "team": scope.team,
    }


async def sums(
    session: AsyncSession,
    scope: Scope,
    grain: int,
    days: tuple[date, date],
    kinds: Sequence[str],
    *,
    group: str | None = None,
) -> list[AnyRow]:
    """Per bucket and kind (and ``group`` column): n and the sums of seconds."""
    extra = f", r.{group}" if group else ""  # a column name chosen by the service, never input
    result = await session.execute(
        text(
            f"SELECT {BUCKET} AS bucket, r.kind{extra}, CAST(sum(r.n) AS bigint) AS n,"  # noqa: S608  # nosec B608
            " CAST(sum(r.cal_n) AS bigint) AS cal_n, CAST(sum(r.cal_sum) AS bigint) AS cal_sum,"
            " CAST(sum(r.bus_n) AS bigint) AS bus_n, CAST(sum(r.bus_sum) AS bigint) AS bus_sum"
            " FROM report_rollups r"
            f" WHERE {_where(scope, grain)} AND r.kind = ANY(:kinds)"
            f" GROUP BY 1, 2{extra} HAVING sum(r.n) <> 0 ORDER BY 1, 2{extra}"
        ),
        {**_params(scope, grain, *days), "kinds": list(kinds)},
    )
    return list(result.all())


async def histograms(
    session: AsyncSession, scope: Scope, grain: int, days: tuple[date, date], kind: str
) -> list[AnyRow]:
    """Per bucket and measure (0 calendar, 1 business): the non-empty bins and their summed
    counts, as two arrays (a row per bin cost more to decode than to sum)."""
    result = await session.execute(
        text(
            "SELECT bucket, measure, array_agg(bin ORDER BY bin) AS bins,"  # noqa: S608  # nosec B608
            " array_agg(hits ORDER BY bin) AS hits FROM ("
            f" SELECT {BUCKET} AS bucket, r.measure, r.bin, CAST(sum(r.count) AS bigint) AS hits"
            f" FROM report_rollup_bins r WHERE {_where(scope, grain)} AND r.kind = :kind"
            " GROUP BY 1, 2, 3 HAVING sum(r.count) <> 0) b GROUP BY 1, 2"
        ),
        {**_params(scope, grain, *days), "kind": kind},
    )
    return list(result.all())


async def before(
    session: AsyncSession, scope: Scope, grain: int, day: date, kinds: Sequence[str]
) -> list[AnyRow]:
    """Per kind: n over every day before ``day`` (the backlog's opening)."""
    where = _where(scope, grain).replace("r.day >= :d0 AND r.day < :d1", "r.day < :d0")
    result = await session.execute(
        text(
            f"SELECT r.kind, sum(r.n) AS n FROM report_rollups r WHERE {where}"  # noqa: S608  # nosec B608
            " AND r.kind = ANY(:kinds) GROUP BY 1"
        ),
        {**_params(scope, grain, day, day), "kinds": list(kinds)},
    )
    return list(result.all())
