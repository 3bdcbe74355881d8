"""REST endpoints for reports (staff). Thin handlers over the service; JSON or CSV."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AwareDatetime, BaseModel

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


def _respond(request: Request, fmt: Format | None, report: BaseModel, name: str) -> Any:
    if _wants_csv(request, fmt):
        start: datetime = report.period_start  # type: ignore[attr-defined]
        filename = f"{name}-{start.date().isoformat()}.csv"
        return Response(
            service.to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return report


@router.get(
    "/first-response",
    summary="First response time",
    description=service.DEFINITIONS["first_response"]
    + " Each bucket gives the count and the mean, median and 90th percentile in `calendar` "
    "(wall), `business` (the calendar of the ticket's SLA policy) and `clock` (the SLA "
    "clock's own count, pauses left out) seconds." + COMMON,
    operation_id="reportFirstResponse",
    response_model=DurationReport,
    responses=_responses(),
)
async def first_response_report(
    request: Request,
    session: SessionDep,
    principal: Reader,
    scope: ScopeDep,
    fmt: FormatQuery = None,
) -> Any:
    report = await service.first_response_report(session, principal, scope)
    return _respond(request, fmt, report, "first-response")


@router.get(
    "/resolution",
    summary="Resolution time (first and full)",
    description=service.DEFINITIONS["resolution"]
    + " Buckets as in the first-response report; `measure` = `first` or `full`."
    + COMMON,
    operation_id="reportResolution",
    response_model=DurationReport,
    responses=_responses(),
)
async def resolution_report(
    request: Request,
    session: SessionDep,
    principal: Reader,
    scope: ScopeDep,
    measure: Annotated[
        ResolutionMeasure, Query(description="`first` solve or `full` (last solve).")
    ] = ResolutionMeasure.full,
    fmt: FormatQuery = None,
) -> Any:
    report = await service.resolution_report(session, principal, scope, measure)
    return _respond(request, fmt, report, "resolution")


@router.get(
    "/backlog",
    summary="Backlog over time",
    description=service.DEFINITIONS["backlog"] + COMMON,
    operation_id="reportBacklog",
    response_model=BacklogReport,
    responses=_responses(),
)
async def backlog_report(
    request: Request,
    session: SessionDep,
    principal: Reader,
    scope: ScopeDep,
    fmt: FormatQuery = None,
) -> Any:
    report = await service.backlog_report(session, principal, scope)
    return _respond(request, fmt, report, "backlog")


@router.get(
    "/reopens",
    summary="Reopen rate",
    description=service.DEFINITIONS["reopens"] + COMMON,
    operation_id="reportReopens",
    response_model=ReopenReport,
    responses=_responses(),
)
async def reopens_report(
    request: Request,
    session: SessionDep,
    principal: Reader,
    scope: ScopeDep,
    fmt: FormatQuery = None,
) -> Any:
    report = await service.reopens_report(session, principal, scope)
    return _respond(request, fmt, report, "reopens")


@router.get(
    "/sla-attainment",
    summary="SLA attainment",
    description=service.DEFINITIONS["sla_attainment"] + COMMON,
    operation_id="reportSlaAttainment",
    response_model=AttainmentReport,
    responses=_responses(),
)
async def sla_attainment_report(
    request: Request,
    session: SessionDep,
    principal: Reader,
    scope: ScopeDep,
    fmt: FormatQuery = None,
) -> Any:
    report = await service.sla_attainment_report(session, principal, scope)
    return _respond(request, fmt, report, "sla-attainment")


@router.get(
    "/volume",
    summary="Ticket volume",
    description=service.DEFINITIONS["volume"] + COMMON,
    operation_id="reportVolume",
    response_model=VolumeReport,
    responses=_responses(),
)
async def volume_report(
    request: Request,
    session: SessionDep,
    principal: Reader,
    scope: ScopeDep,
    group_by: Annotated[
        VolumeGroup, Query(description="`channel`, `priority` or `agent` (current assignee).")
    ] = VolumeGroup.channel,
    fmt: FormatQuery = None,
) -> Any:
    report = await service.volume_report(session, principal, scope, group_by)
    return _respond(request, fmt, report, "volume")
