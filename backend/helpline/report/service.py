"""Duration reports (first response, resolution) over fulfilled SLA clocks; staff only."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.principal import Principal
from helpline.errors import PermissionDenied, ValidationFailed
from helpline.report import repository
from helpline.report.schemas import DurationBucket, DurationReport, Durations, Interval

DEFINITIONS = {
    "first_response": (
        "Per ticket, from creation to the first public message by staff (internal notes and "
        "automatic messages do not count), bucketed by the time of that reply. Tickets solved "
        "without a reply are not counted."
    ),
    "resolution": (
        "Per ticket, from creation to its last solve, bucketed by that time. `calendar` is the "
        "wall time (reopened periods included); `clock` leaves out paused and solved time."
    ),
}
MAX_DAYS = 400


def _durations(avg: float | None, p50: float | None, p90: float | None) -> Durations:
    def r(v: float | None) -> float | None:
        return None if v is None else round(float(v), 3)

    return Durations(avg=r(avg), p50=r(p50), p90=r(p90))


async def duration_report(
    session: AsyncSession,
    principal: Principal,
    metric: str,
    *,
    start: datetime,
    end: datetime,
    interval: Interval,
    time_zone: str,
    priority: str | None,
    assigned_to: uuid.UUID | None,
) -> DurationReport:
    """A duration report over ``[start, end)`` (staff)."""
    if not principal.is_staff:
        raise PermissionDenied("Reports are for staff.")
    if end <= start or (end - start).days > MAX_DAYS:
        raise ValidationFailed(
            f"period_end must follow period_start, at most {MAX_DAYS} days later.",
            errors=[{"loc": ["query", "period_end"], "msg": "bad period", "type": "value_error"}],
        )
    rows = await repository.duration_buckets(
        session,
        kind=metric,
        start=start,
        end=end,
        interval=interval.value,
        time_zone=time_zone,
        priority=priority,
        assigned_to=assigned_to,
    )
    return DurationReport(
        metric=metric,
        definition=DEFINITIONS[metric],
        period_start=start,
        period_end=end,
        interval=interval,
        time_zone=time_zone,
        buckets=[
            DurationBucket(
                start=r.bucket,
                tickets=r.tickets,
                calendar=_durations(r.cal_avg, r.cal_p50, r.cal_p90),
                clock=_durations(r.clk_avg, r.clk_p50, r.clk_p90),
            )
            for r in rows
        ],
    )
