"""Reports (staff only) over the daily rollups when they can answer, else the metric facts.

The facts and rollups are written by ``report.recorder``. Definitions: docs/reports.md.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.principal import Principal
from helpline.errors import PermissionDenied, ValidationFailed
from helpline.kit.rows import AnyRow
from helpline.report import repository, rollups
from helpline.report.rollup import NIL
from helpline.report.schemas import (
    AttainmentReport,
    AttainmentRow,
    BacklogBucket,
    BacklogReport,
    DurationBucket,
    DurationReport,
    Durations,
    Interval,
    ReopenBucket,
    ReopenReport,
    ReportSource,
    ResolutionMeasure,
    Scope,
    VolumeBucket,
    VolumeCount,
    VolumeGroup,
    VolumeReport,
)

FILTERS = (
    " Filters (`agent`, `priority`, `mailbox`, `team`, `metadata.<key>=<value>`) apply to the "
    "ticket's current attributes; deleted tickets are left out."
)
DEFINITIONS = {
    "first_response": (
        "Per ticket, from creation to the first public message by staff (internal notes and "
        "automatic messages do not count, nor do messages of rules), bucketed by the time of that "
        "reply. A reopened ticket keeps its first response. Tickets solved without a reply are "
        "not counted." + FILTERS
    ),
    "resolution": (
        "Per ticket, from creation to a solve (status solved or closed), bucketed by that time. "
        "`first`: the first solve of each ticket. `full` (default): the last solve, for tickets "
        "not reopened since; a reopened ticket counts once, at its final solve, and its "
        "`calendar` time includes the reopened periods." + FILTERS
    ),
    "backlog": (
        "Tickets open (created or reopened and not solved or closed since) at the start of the "
        "period and at the end of each bucket, with the tickets created, reopened and solved in "
        "each bucket." + FILTERS
    ),
    "reopens": (
        "Per bucket of first solve: tickets solved for the first time and how many of them were "
        "reopened since (the reopen rate); and the reopens that happened in the bucket, with the "
        "mean time from the solve they undid." + FILTERS
    ),
    "sla_attainment": (
        "SLA clocks by outcome, per clock kind: met (fulfilled before its due time, bucketed "
        "at fulfilment) and breached (bucketed at the breach); attainment = met / (met + "
        "breached). Only tickets an SLA policy applies to; each clock counts in its policy's "
        "business or calendar time." + FILTERS
    ),
    "volume": (
        "Tickets created per bucket, by channel (`email`: came through a mailbox; `api`: REST, "
        "GraphQL or the console), by current priority, or by current assignee." + FILTERS
    ),
}
MAX_DAYS = 400


def require_staff(principal: Principal) -> None:
    if not principal.is_staff:
        raise PermissionDenied("Reports are for staff.")


def check_period(start: datetime, end: datetime) -> None:
    if end <= start or (end - start).days > MAX_DAYS:
        raise ValidationFailed(
            f"period_end must follow period_start, at most {MAX_DAYS} days later.",
            errors=[{"loc": ["query", "period_end"], "msg": "bad period", "type": "value_error"}],
        )


def _r(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def _durations(row: AnyRow, prefix: str) -> Durations:
    m = row._mapping
    return Durations(
        avg=_r(m[f"{prefix}_avg"]), p50=_r(m[f"{prefix}_p50"]), p90=_r(m[f"{prefix}_p90"])
    )


def _meta(
    metric: str, scope: Scope, source: ReportSource, *, approximate: bool = False
) -> dict[str, Any]:
    return {
        "metric": metric,
        "source": source,
        "approximate": approximate,
        "definition": DEFINITIONS[metric],
        "period_start": scope.start,
        "period_end": scope.end,
        "interval": Interval(scope.interval),
        "time_zone": scope.time_zone,
    }


class _Moves(NamedTuple):
    created: int
    reopened: int
    solved: int


class _Solved(NamedTuple):
    solved: int
    reopened_tickets: int


class _Reopens(NamedTuple):
    reopens: int
    after_avg: float


def _n(row: AnyRow | None) -> int:
    return 0 if row is None else int(row.n)


# volume's group_by → the rollup column it groups by
ROLLUP_GROUPS = {
    VolumeGroup.channel: "channel",
    VolumeGroup.priority: "priority",
    VolumeGroup.agent: "assignee_id",
}


# -- reports -------------------------------------------------------------------------------------
async def first_response_report(
    session: AsyncSession, principal: Principal, scope: Scope
) -> DurationReport:
    """First response time per bucket (staff)."""
    require_staff(principal)
    check_period(scope.start, scope.end)
    plan = await rollups.plan(session, scope)
    if plan is not None:
        buckets = await rollups.duration_buckets(session, scope, plan, "first_response")
        return DurationReport(
            **_meta("first_response", scope, ReportSource.rollup, approximate=True),
            buckets=[DurationBucket(**b) for b in buckets],
        )
    rows = await repository.duration_buckets(
        session, scope, kind="first_response", which="any", clock_kind="first_response"
    )
    return DurationReport(
        **_meta("first_response", scope, ReportSource.facts), buckets=_duration_buckets(rows)
    )


async def resolution_report(
    session: AsyncSession, principal: Principal, scope: Scope, measure: ResolutionMeasure
) -> DurationReport:
    """Resolution time, first or full, per bucket (staff)."""
    require_staff(principal)
    check_period(scope.start, scope.end)
    full = measure is ResolutionMeasure.full
    plan = await rollups.plan(session, scope)
    if plan is not None:
        kind = "solved_final" if full else "solved_first"
        buckets = await rollups.duration_buckets(session, scope, plan, kind)
        return DurationReport(
            **_meta("resolution", scope, ReportSource.rollup, approximate=True),
            measure=measure,
            buckets=[DurationBucket(**b) for b in buckets],
        )
    rows = await repository.duration_buckets(
        session,
        scope,
        kind="solved",
        which="final" if full else "first",
        clock_kind="resolution" if full else None,
    )
    return DurationReport(
        **_meta("resolution", scope, ReportSource.facts),
        measure=measure,
        buckets=_duration_buckets(rows),
    )


def _duration_buckets(rows: list[AnyRow]) -> list[DurationBucket]:
    return [
        DurationBucket(
            start=r.bucket,
            tickets=r.tickets,
            calendar=_durations(r, "cal"),
            business_tickets=r.bus_n,
            business=_durations(r, "bus"),
            clock=_durations(r, "clk"),
        )
        for r in rows
    ]


async def backlog_report(
    session: AsyncSession, principal: Principal, scope: Scope
) -> BacklogReport:
    """Open tickets over time (staff)."""
    require_staff(principal)
    check_period(scope.start, scope.end)
    plan = await rollups.plan(session, scope)
    if plan is not None:
        source = ReportSource.rollup
        opening = await rollups.opening(session, scope, plan)
        found: dict[datetime, dict[str, int]] = defaultdict(dict)
        for r in await rollups.counts(session, scope, plan, ["created", "reopened", "solved"]):
            found[r.bucket][r.kind] = int(r.n)
        moves: dict[datetime, Any] = {
            b: _Moves(k.get("created", 0), k.get("reopened", 0), k.get("solved", 0))
            for b, k in found.items()
        }
    else:
        source = ReportSource.facts
        opening = await repository.backlog_opening(session, scope)
        moves = {r.bucket: r for r in await repository.backlog_moves(session, scope)}
    buckets: list[BacklogBucket] = []
    open_now = opening
    for start in await repository.bucket_starts(session, scope):
        move = moves.get(start)
        created, reopened, solved = (
            (move.created, move.reopened, move.solved) if move else (0, 0, 0)
        )
        open_now += created + reopened - solved
        buckets.append(
            BacklogBucket(
                start=start, created=created, reopened=reopened, solved=solved, backlog=open_now
            )
        )
    return BacklogReport(**_meta("backlog", scope, source), opening=opening, buckets=buckets)


async def reopens_report(session: AsyncSession, principal: Principal, scope: Scope) -> ReopenReport:
    """First solves, how many were reopened, and reopens per bucket (staff)."""
    require_staff(principal)
    check_period(scope.start, scope.end)
    plan = await rollups.plan(session, scope)
    if plan is not None:
        source = ReportSource.rollup
        kinds = ["solved_first", "reopened_first_solve", "reopened"]
        got: dict[datetime, dict[str, AnyRow]] = defaultdict(dict)
        for r in await rollups.counts(session, scope, plan, kinds):
            got[r.bucket][r.kind] = r
        solved: dict[datetime, Any] = {
            b: _Solved(int(k["solved_first"].n), _n(k.get("reopened_first_solve")))
            for b, k in got.items()
            if "solved_first" in k
        }
        reopens: dict[datetime, Any] = {
            b: _Reopens(int(k["reopened"].n), k["reopened"].cal_sum / k["reopened"].cal_n)
            for b, k in got.items()
            if "reopened" in k and k["reopened"].cal_n
        }
    else:
        source = ReportSource.facts
        solved = {r.bucket: r for r in await repository.reopen_buckets(session, scope)}
        reopens = {r.bucket: r for r in await repository.reopen_events(session, scope)}
    buckets = []
    for start in sorted(solved.keys() | reopens.keys()):
        s, e = solved.get(start), reopens.get(start)
        n = s.solved if s else 0
        again = s.reopened_tickets if s else 0
        buckets.append(
            ReopenBucket(
                start=start,
                solved=n,
                reopened_tickets=again,
                reopen_rate=round(again / n, 4) if n else None,
                reopens=e.reopens if e else 0,
                reopen_after_avg=_r(e.after_avg) if e else None,
            )
        )
    return ReopenReport(**_meta("reopens", scope, source), buckets=buckets)


async def volume_report(
    session: AsyncSession, principal: Principal, scope: Scope, group_by: VolumeGroup
) -> VolumeReport:
    """Tickets created per bucket, by channel, priority or agent (staff)."""
    require_staff(principal)
    check_period(scope.start, scope.end)
    groups: dict[datetime, list[VolumeCount]] = defaultdict(list)
    column = ROLLUP_GROUPS[group_by]
    by_assignee = group_by is VolumeGroup.agent
    plan = await rollups.plan(session, scope, by_key=not by_assignee, by_assignee=by_assignee)
    if plan is not None:
        source = ReportSource.rollup
        for r in await rollups.counts(session, scope, plan, ["created"], group=column):
            key = getattr(r, column)
            if column == "assignee_id":
                key = None if key == NIL else str(key)
            groups[r.bucket].append(VolumeCount(key=key, tickets=int(r.n)))
        for counts in groups.values():
            counts.sort(key=lambda g: (g.key is None, g.key or ""))
    else:
        source = ReportSource.facts
        for r in await repository.volume_buckets(session, scope, group_by.value):
            groups[r.bucket].append(VolumeCount(key=r.key, tickets=r.tickets))
    return VolumeReport(
        **_meta("volume", scope, source),
        group_by=group_by,
        buckets=[
            VolumeBucket(start=start, tickets=sum(g.tickets for g in counts), groups=counts)
            for start, counts in sorted(groups.items())
        ],
    )


async def sla_attainment_report(
    session: AsyncSession, principal: Principal, scope: Scope
) -> AttainmentReport:
    """SLA clocks met and breached per bucket and kind (staff)."""
    require_staff(principal)
    check_period(scope.start, scope.end)
    rows = await repository.attainment_buckets(session, scope)
    return AttainmentReport(
        **_meta("sla_attainment", scope, ReportSource.clocks),
        buckets=[
            AttainmentRow(
                start=r.bucket,
                kind=r.kind,
                met=r.met,
                breached=r.breached,
                attainment=round(r.met / (r.met + r.breached), 4) if r.met + r.breached else None,
                business=r.business,
            )
            for r in rows
        ],
    )


# -- CSV -----------------------------------------------------------------------------------------
def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}_{k}" if prefix else k, v, out)
    elif isinstance(value, datetime):
        out[prefix] = value.isoformat().replace("+00:00", "Z")
    else:
        out[prefix] = "" if value is None else value


def to_csv(report: BaseModel) -> str:
    """One line per bucket (and group or kind), the nested figures as `calendar_avg`-style
    columns; volume gives one line per bucket and key."""
    data = report.model_dump(mode="python")
    rows: list[dict[str, Any]] = []
    for bucket in data["buckets"]:
        groups = bucket.pop("groups", None)
        if groups is not None:
            for g in groups:
                row: dict[str, Any] = {}
                _flat("", {**bucket, "key": g["key"], "key_tickets": g["tickets"]}, row)
                rows.append(row)
            continue
        row = {}
        _flat("", bucket, row)
        rows.append(row)
    out = io.StringIO()
    names: list[str] = []
    for row in rows:
        names += [n for n in row if n not in names]
    writer = csv.DictWriter(out, fieldnames=names or ["start"], lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
