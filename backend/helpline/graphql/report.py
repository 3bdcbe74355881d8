"""Reports in GraphQL (staff): `reports(...) { firstResponse resolution backlog reopens
slaAttainment volume }`, thin resolvers over the report service (the REST reports' types)."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import strawberry
from pydantic import BaseModel
from strawberry.experimental.pydantic import type as pydantic_type

from helpline.auth.permissions import Scope as Permission
from helpline.errors import ValidationFailed
from helpline.graphql.context import parse_id
from helpline.graphql.ticket import MetadataFilterInput
from helpline.graphql.types import Info
from helpline.models.enums import TicketPriority
from helpline.report import schemas, service
from helpline.report.schemas import Interval, ReportSource, ResolutionMeasure, Scope, VolumeGroup

T = TypeVar("T")

strawberry.enum(Interval, name="ReportInterval", description="Bucket size.")
strawberry.enum(ResolutionMeasure, description="`first` solve or `full` (last solve).")
strawberry.enum(ReportSource, description="What a report's figures were read from.")
strawberry.enum(VolumeGroup, name="VolumeGroupBy", description="What volume is split by.")


@pydantic_type(model=schemas.Durations, all_fields=True, description="Seconds.")
class Durations:
    pass


@pydantic_type(model=schemas.DurationBucket, all_fields=True, description="One bucket.")
class DurationBucket:
    pass


@pydantic_type(model=schemas.DurationReport, all_fields=True, description="A duration report.")
class DurationReport:
    pass


@pydantic_type(model=schemas.BacklogBucket, all_fields=True, description="One bucket.")
class BacklogBucket:
    pass


@pydantic_type(model=schemas.BacklogReport, all_fields=True, description="Backlog over time.")
class BacklogReport:
    pass


@pydantic_type(model=schemas.ReopenBucket, all_fields=True, description="One bucket.")
class ReopenBucket:
    pass


@pydantic_type(model=schemas.ReopenReport, all_fields=True, description="Reopen rate.")
class ReopenReport:
    pass


@pydantic_type(model=schemas.VolumeCount, all_fields=True, description="Tickets of one key.")
class VolumeCount:
    pass


@pydantic_type(model=schemas.VolumeBucket, all_fields=True, description="One bucket.")
class VolumeBucket:
    pass


@pydantic_type(model=schemas.VolumeReport, all_fields=True, description="Ticket volume.")
class VolumeReport:
    pass


@pydantic_type(model=schemas.AttainmentRow, all_fields=True, description="Bucket and kind.")
class AttainmentRow:
    pass


@pydantic_type(model=schemas.AttainmentReport, all_fields=True, description="SLA attainment.")
class AttainmentReport:
    pass


def _gql(kind: type[T], report: BaseModel) -> T:
    """The Strawberry twin of a report model."""
    return cast(T, kind.from_pydantic(report))  # type: ignore[attr-defined]


@strawberry.type(description="The reports of one period, buckets and filters (staff).")
class Reports:
    scope: strawberry.Private[Scope]

    @strawberry.field(description=service.DEFINITIONS["first_response"])
    async def first_response(self, info: Info) -> DurationReport:
        ctx = info.context
        async with ctx.db() as session:
            report = await service.first_response_report(session, ctx.principal, self.scope)
        return _gql(DurationReport, report)

    @strawberry.field(description=service.DEFINITIONS["resolution"])
    async def resolution(
        self, info: Info, measure: ResolutionMeasure = ResolutionMeasure.full
    ) -> DurationReport:
        ctx = info.context
        async with ctx.db() as session:
            report = await service.resolution_report(session, ctx.principal, self.scope, measure)
        return _gql(DurationReport, report)

    @strawberry.field(description=service.DEFINITIONS["backlog"])
    async def backlog(self, info: Info) -> BacklogReport:
        ctx = info.context
        async with ctx.db() as session:
            report = await service.backlog_report(session, ctx.principal, self.scope)
        return _gql(BacklogReport, report)

    @strawberry.field(description=service.DEFINITIONS["reopens"])
    async def reopens(self, info: Info) -> ReopenReport:
        ctx = info.context
        async with ctx.db() as session:
            report = await service.reopens_report(session, ctx.principal, self.scope)
        return _gql(ReopenReport, report)

    @strawberry.field(description=service.DEFINITIONS["sla_attainment"])
    async def sla_attainment(self, info: Info) -> AttainmentReport:
        ctx = info.context
        async with ctx.db() as session:
            report = await service.sla_attainment_report(session, ctx.principal, self.scope)
        return _gql(AttainmentReport, report)

    @strawberry.field(description=service.DEFINITIONS["volume"])
    async def volume(self, info: Info, group_by: VolumeGroup = VolumeGroup.channel) -> VolumeReport:
        ctx = info.context
        async with ctx.db() as session:
            report = await service.volume_report(session, ctx.principal, self.scope, group_by)
        return _gql(VolumeReport, report)


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"Unknown time zone {value!r}.") from exc
    return value


@strawberry.type
class ReportQuery:
    @strawberry.field(
        description="Reports over `[periodStart, periodEnd)` (≤ 400 days), as the REST "
        "`/api/v1/reports/*` (staff with `tickets:read`; definitions in docs/reports.md)."
    )
    def reports(
        self,
        info: Info,
        period_start: datetime,
        period_end: datetime,
        interval: Interval = Interval.day,
        time_zone: str = "UTC",
        agent_id: strawberry.ID | None = None,
        priority: TicketPriority | None = None,
        mailbox_id: strawberry.ID | None = None,
        team_id: strawberry.ID | None = None,
        metadata: list[MetadataFilterInput] | None = None,
    ) -> Reports:
        ctx = info.context
        service.require_staff(ctx.require(Permission.tickets_read))
        if period_start.tzinfo is None or period_end.tzinfo is None:
            raise ValidationFailed("periodStart and periodEnd need a UTC offset.")
        if metadata is not None and len(metadata) > 5:
            raise ValidationFailed("At most 5 metadata filters.")
        service.check_period(period_start, period_end)
        return Reports(
            scope=Scope(
                start=period_start,
                end=period_end,
                interval=interval.value,
                time_zone=_zone(time_zone),
                agent=None if agent_id is None else parse_id(agent_id, "agentId"),
                priority=None if priority is None else priority.value,
                mailbox=None if mailbox_id is None else parse_id(mailbox_id, "mailboxId"),
                team=None if team_id is None else parse_id(team_id, "teamId"),
                metadata=tuple(sorted((m.key, m.value) for m in metadata or ())),
            )
        )
