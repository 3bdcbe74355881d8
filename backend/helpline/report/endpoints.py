"""REST endpoints for reports (staff). Thin handlers over the service."""

from __future__ import annotations

import uuid
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from helpline.auth.dependencies import require
from helpline.auth.permissions import Scope
from helpline.auth.principal import Principal
from helpline.db import SessionDep, UnitOfWorkRoute
from helpline.errors import PermissionDenied, ValidationFailed
from helpline.http import problem_responses
from helpline.models.enums import TicketPriority
from helpline.report import service
from helpline.report.schemas import DurationReport, Interval

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/reports", tags=["reports"])
Reader = Annotated[Principal, require(Scope.tickets_read)]
Start = Annotated[AwareDatetime, Query(description="Start of the period (inclusive).")]
End = Annotated[AwareDatetime, Query(description="End of the period (exclusive), ≤ 400 days.")]
Every = Annotated[Interval, Query(description="Bucket size.")]
Zone = Annotated[str, Query(description="IANA zone the buckets start in.")]
Priority = Annotated[TicketPriority | None, Query(description="Only this priority.")]
Agent = Annotated[uuid.UUID | None, Query(description="Only tickets assigned to this agent.")]


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(
            f"Unknown time zone {value!r}.",
            errors=[{"loc": ["query", "time_zone"], "msg": "unknown zone", "type": "value_error"}],
        ) from exc
    return value


@router.get(
    "/first-response",
    summary="First response time",
    description=service.DEFINITIONS["first_response"]
    + " Each bucket gives the count and the mean, median and 90th percentile in `calendar` "
    "(wall) and `clock` (the policy's business or calendar time, pauses left out) seconds. "
    "Computed from the tickets' SLA clocks (tickets a policy applies to). Staff only.",
    operation_id="reportFirstResponse",
    responses=problem_responses(PermissionDenied, ValidationFailed),
)
async def first_response_report(
    session: SessionDep,
    principal: Reader,
    period_start: Start,
    period_end: End,
    interval: Every = Interval.day,
    time_zone: Zone = "UTC",
    priority: Priority = None,
    assigned_to: Agent = None,
) -> DurationReport:
    return await service.duration_report(
        session,
        principal,
        "first_response",
        start=period_start,
        end=period_end,
        interval=interval,
        time_zone=_zone(time_zone),
        priority=priority.value if priority else None,
        assigned_to=assigned_to,
    )


@router.get(
    "/resolution",
    summary="Resolution time",
    description=service.DEFINITIONS["resolution"]
    + " Buckets as in the first-response report. Staff only.",
    operation_id="reportResolution",
    responses=problem_responses(PermissionDenied, ValidationFailed),
)
async def resolution_report(
    session: SessionDep,
    principal: Reader,
    period_start: Start,
    period_end: End,
    interval: Every = Interval.day,
    time_zone: Zone = "UTC",
    priority: Priority = None,
    assigned_to: Agent = None,
) -> DurationReport:
    return await service.duration_report(
        session,
        principal,
        "resolution",
        start=period_start,
        end=period_end,
        interval=interval,
        time_zone=_zone(time_zone),
        priority=priority.value if priority else None,
        assigned_to=assigned_to,
    )
