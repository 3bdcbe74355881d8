"""SQL of reports: aggregates over fulfilled SLA clocks (index ix_sla_clocks_kind_fulfilled)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.rows import AnyRow


async def duration_buckets(
    session: AsyncSession,
    *,
    kind: str,
    start: datetime,
    end: datetime,
    interval: str,
    time_zone: str,
    priority: str | None,
    assigned_to: uuid.UUID | None,
) -> list[AnyRow]:
    where = [
        "c.kind = :kind",
        "c.fulfilled_at >= :start",
        "c.fulfilled_at < :end",
        "c.cycle = 0",
    ]
    params: dict[str, object] = {
        "kind": kind,
        "start": start,
        "end": end,
        "interval": interval,
        "tz": time_zone,
    }
    if priority is not None:
        where.append("t.priority = :priority")
        params["priority"] = priority
    if assigned_to is not None:
        where.append("t.assigned_to = :assigned_to")
        params["assigned_to"] = assigned_to
    wall = "extract(epoch FROM c.fulfilled_at - c.started_at)"
    result = await session.execute(
        text(
            # Only constant fragments are joined; every value is a bound parameter.
            "SELECT date_trunc(:interval, c.fulfilled_at AT TIME ZONE :tz) AT TIME ZONE :tz"  # noqa: S608  # nosec B608
            " AS bucket, count(*) AS tickets,"
            f" avg({wall}) AS cal_avg,"
            f" percentile_cont(0.5) WITHIN GROUP (ORDER BY {wall}) AS cal_p50,"
            f" percentile_cont(0.9) WITHIN GROUP (ORDER BY {wall}) AS cal_p90,"
            " avg(c.used_seconds) AS clk_avg,"
            " percentile_cont(0.5) WITHIN GROUP (ORDER BY c.used_seconds) AS clk_p50,"
            " percentile_cont(0.9) WITHIN GROUP (ORDER BY c.used_seconds) AS clk_p90"
            " FROM sla_clocks c JOIN tickets t ON t.id = c.ticket_id AND t.deleted_at IS NULL"
            f" WHERE {' AND '.join(where)} GROUP BY 1 ORDER BY 1"
        ),
        params,
    )
    return list(result.all())
