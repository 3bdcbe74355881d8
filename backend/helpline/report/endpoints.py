"""REST endpoints for reports (staff). Thin handlers over the service; JSON or CSV."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AwareDatetime, BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.dependencies import require
from helpline.auth.permissions import Scope as Permission
from helpline.auth.principal import Principal
from helpline.db import SessionDep, UnitOfWorkRoute
from helpline.errors import PermissionDenied, ValidationFailed
from helpline.http import problem_responses
from helpline.models.enums import TicketPriority
from helpline.report import service
from helpline.report.schemas import (
    AttainmentReport,
    BacklogReport,
    DurationReport,
    Interval,
    ReopenReport,
    ResolutionMeasure,
    Scope,
    SourceChoice,
    VolumeGroup,
    VolumeReport,
)

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/reports", tags=["reports"])
Reader = Annotated[Principal, require(Permission.tickets_read)]
MAX_METADATA_FILTERS = 5


class Format(StrEnum):
    json = "json"
    csv = "csv"


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(
            f"Unknown time zone {value!r}.",
            errors=[{"loc": ["query", "time_zone"], "msg": "unknown zone", "type": "value_error"}],
        ) from exc
    return value


def _metadata(request: Request) -> tuple[tuple[str, str], ...]:
    pairs = tuple(
        sorted(
            (name.removeprefix("metadata."), value)
            for name, value in request.query_params.multi_items()
            if name.startswith("metadata.")
        )
    )
    if len(pairs) > MAX_METADATA_FILTERS or any(not k or len(k) > 64 for k, _ in pairs):
        raise ValidationFailed(
            f"At most {MAX_METADATA_FILTERS} `metadata.<key>=<value>` filters, keys 1-64 chars.",
            errors=[{"loc": ["query", "metadata"], "msg": "bad filter", "type": "value_error"}],
        )
    return pairs


async def report_scope(
    request: Request,
    period_start: Annotated[
        AwareDatetime, Query(description="Start of the period (inclusive), RFC 3339 with offset.")
    ],
    period_end: Annotated[
        AwareDatetime, Query(description="End of the period (exclusive), at most 400 days later.")
    ],
    interval: Annotated[Interval, Query(description="Bucket size.")] = Interval.day,
    time_zone: Annotated[
        str, Query(description="IANA zone the buckets start in (local midnight).", max_length=64)
    ] = "UTC",
    agent: Annotated[
        uuid.UUID | None, Query(description="Only tickets now assigned to this agent.")
    ] = None,
    assigned_to: Annotated[
        uuid.UUID | None, Query(description="Same as `agent` (kept for compatibility).")
    ] = None,
    priority: Annotated[
        TicketPriority | None, Query(description="Only tickets of this (current) priority.")
    ] = None,
    mailbox: Annotated[
        uuid.UUID | None, Query(description="Only tickets that came through this mailbox.")
    ] = None,
    team: Annotated[uuid.UUID | None, Query(description="Only tickets of this team.")] = None,
    source: Annotated[
        SourceChoice,
        Query(
            description="`auto` (default): the daily rollups when the report allows (no "
            "`metadata.*` filter, whole local days of a zone with rollups), else the metric "
            "facts; `facts`: always the facts (exact percentiles and the SLA `clock` figures). "
            "The response's `source` says which was read."
        ),
    ] = SourceChoice.auto,
) -> Scope:
    """The period, buckets and filters of a report; `metadata.<key>=<value>` too."""
    return Scope(
        start=period_start,
        end=period_end,
        interval=interval.value,
        time_zone=_zone(time_zone),
        agent=agent or assigned_to,
        priority=priority.value if priority else None,
        mailbox=mailbox,
        team=team,
        metadata=_metadata(request),
        source=source.value,
    )


ScopeDep = Annotated[Scope, Depends(report_scope)]
FormatQuery = Annotated[
    Format | None,
    Query(
        alias="format",
        description="`csv` for a CSV file (as `Accept: text/csv` does); default JSON.",
    ),
]
CSV_EXAMPLE = "start,tickets,calendar_avg,calendar_p50\r\n2026-11-03T00:00:00Z,4,2250.0,2400.0\r\n"
COMMON = (
    " Query: `period_start`, `period_end` (≤ 400 days), `interval` (day, week, month), "
    "`time_zone` (IANA; buckets start at local midnight, weeks on Monday), filters `agent`, "
    "`priority`, `mailbox`, `team` and `metadata.<key>=<value>` (repeatable, matches the value "
    "as text), which apply to the ticket's current attributes. `format=csv` or `Accept: "
    "text/csv` returns CSV (one line per bucket). Staff only (`tickets:read`). Definitions: "
    "docs/reports.md. Without a `metadata.*` filter, over whole local days of UTC or an SLA "
    "calendar's zone, the figures come from daily rollups (`source: rollup`; milliseconds at "
    "any volume): counts, sums and means exact, medians and 90th percentiles from a log-scale "
    "histogram within 4.8 % (`approximate: true`), no SLA `clock` figures; otherwise, or with "
    "`source=facts`, from the metric facts of the period (`source: facts`)."
)


def _responses() -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": "The report (JSON), or CSV with `format=csv` / `Accept: text/csv`.",
            "content": {"text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE}},
        },
        **problem_responses(PermissionDenied, ValidationFailed),
    }


def _wants_csv(request: Request, fmt: Format | None) -> bool:
    if fmt is not None:
        return fmt is Format.csv
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """What every report route takes: the caller, the scope (period, buckets, filters) and the
    wanted format."""

    request: Request
    session: AsyncSession
    principal: Principal
    scope: Scope
    fmt: Format | None

    def respond(self, report: BaseModel, name: str) -> Any:
        """The report as JSON, or as a CSV file ``<name>-<period start>.csv``."""
        if _wants_csv(self.request, self.fmt):
            start: datetime = report.period_start  # type: ignore[attr-defined]
            filename = f"{name}-{start.date().isoformat()}.csv"
            return Response(
                service.to_csv(report),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{filename}"'},
            )
        return report


def report_request(
    request: Request,
    session: SessionDep,
    principal: Reader,
    scope: ScopeDep,
    fmt: FormatQuery = None,
) -> ReportRequest:
    return ReportRequest(request, session, principal, scope, fmt)


ReportRequestDep = Annotated[ReportRequest, Depends(report_request)]


def report_route(
    path: str, *, summary: str, description: str, operation_id: str, model: type[BaseModel]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A report's GET route: its own description followed by the common query, and the CSV
    alternative and problems in its responses."""
    return router.get(
        path,
        summary=summary,
        description=description + COMMON,
        operation_id=operation_id,
        response_model=model,
        responses=_responses(),
    )


@report_route(
    "/first-response",
    summary="First response time",
    description=service.DEFINITIONS["first_response"]
    + " Each bucket gives the count and the mean, median and 90th percentile in `calendar` "
    "(wall), `business` (the calendar of the ticket's SLA policy) and `clock` (the SLA "
    "clock's own count, pauses left out) seconds.",
    operation_id="reportFirstResponse",
    model=DurationReport,
)
async def first_response_report(r: ReportRequestDep) -> Any:
    report = await service.first_response_report(r.session, r.principal, r.scope)
    return r.respond(report, "first-response")


@report_route(
    "/resolution",
    summary="Resolution time (first and full)",
    description=service.DEFINITIONS["resolution"]
    + " Buckets as in the first-response report; `measure` = `first` or `full`.",
    operation_id="reportResolution",
    model=DurationReport,
)
async def resolution_report(
    r: ReportRequestDep,
    measure: Annotated[
        ResolutionMeasure, Query(description="`first` solve or `full` (last solve).")
    ] = ResolutionMeasure.full,
) -> Any:
    report = await service.resolution_report(r.session, r.principal, r.scope, measure)
    return r.respond(report, "resolution")


@report_route(
    "/backlog",
    summary="Backlog over time",
    description=service.DEFINITIONS["backlog"],
    operation_id="reportBacklog",
    model=BacklogReport,
)
async def backlog_report(r: ReportRequestDep) -> Any:
    report = await service.backlog_report(r.session, r.principal, r.scope)
    return r.respond(report, "backlog")


@report_route(
    "/reopens",
    summary="Reopen rate",
    description=service.DEFINITIONS["reopens"],
    operation_id="reportReopens",
    model=ReopenReport,
)
async def reopens_report(r: ReportRequestDep) -> Any:
    report = await service.reopens_report(r.session, r.principal, r.scope)
    return r.respond(report, "reopens")


@report_route(
    "/sla-attainment",
    summary="SLA attainment",
    description=service.DEFINITIONS["sla_attainment"],
    operation_id="reportSlaAttainment",
    model=AttainmentReport,
)
async def sla_attainment_report(r: ReportRequestDep) -> Any:
    report = await service.sla_attainment_report(r.session, r.principal, r.scope)
    return r.respond(report, "sla-attainment")


@report_route(
    "/volume",
    summary="Ticket volume",
    description=service.DEFINITIONS["volume"],
    operation_id="reportVolume",
    model=VolumeReport,
)
async def volume_report(
    r: ReportRequestDep,
    group_by: Annotated[
        VolumeGroup, Query(description="`channel`, `priority` or `agent` (current assignee).")
    ] = VolumeGroup.channel,
) -> Any:
    report = await service.volume_report(r.session, r.principal, r.scope, group_by)
    return r.respond(report, "volume")
