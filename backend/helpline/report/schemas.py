"""Representations of reports. Every report names its period, buckets and definition."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


@dataclass(frozen=True, slots=True)
class Scope:
    """A report's period, buckets and filters (all values are bound parameters)."""

    start: datetime
    end: datetime
    interval: str
    time_zone: str
    agent: uuid.UUID | None = None
    priority: str | None = None
    mailbox: uuid.UUID | None = None
    team: uuid.UUID | None = None
    metadata: tuple[tuple[str, str], ...] = field(default=())
    source: str = "auto"  # "facts": read the facts even when the rollups could serve

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "start": self.start,
            "end": self.end,
            "interval": self.interval,
            "tz": self.time_zone,
            "agent": self.agent,
            "priority": self.priority,
            "mailbox": self.mailbox,
            "team": self.team,
        }
        for i, (key, value) in enumerate(self.metadata):
            params[f"mk{i}"] = key
            params[f"mv{i}"] = value
        return params

    def ticket_filter(self) -> str:
        """Constant SQL over ``t`` (the ticket); values are parameters of :meth:`params`."""
        parts = ["t.deleted_at IS NULL"]
        if self.agent is not None:
            parts.append("t.assigned_to = :agent")
        if self.priority is not None:
            parts.append("t.priority = :priority")
        if self.mailbox is not None:
            parts.append("t.mailbox_id = :mailbox")
        if self.team is not None:
            parts.append("t.team_id = :team")
        for i in range(len(self.metadata)):
            # Only the index i is formatted in; keys and values are bound parameters.
            exists = (
                "EXISTS (SELECT 1 FROM ticket_metadata m WHERE m.ticket_id = t.id"  # noqa: S608  # nosec B608
                f" AND m.key = :mk{i} AND m.value #>> '{{}}' = :mv{i})"
            )
            parts.append(exists)
        return " AND ".join(parts)


class Interval(StrEnum):
    day = "day"
    week = "week"
    month = "month"


class ReportSource(StrEnum):
    rollup = "rollup"
    facts = "facts"
    clocks = "clocks"


class SourceChoice(StrEnum):
    auto = "auto"
    facts = "facts"


class ResolutionMeasure(StrEnum):
    first = "first"
    full = "full"


class VolumeGroup(StrEnum):
    channel = "channel"
    priority = "priority"
    agent = "agent"


class Durations(BaseModel):
    avg: float | None = Field(description="Mean, seconds.")
    p50: float | None = Field(description="Median, seconds.")
    p90: float | None = Field(description="90th percentile, seconds.")


class ReportBase(BaseModel):
    metric: str = Field(description="Which report.", examples=["first_response"])
    definition: str = Field(description="What the numbers count, in words.")
    period_start: datetime = Field(description="Start of the period (inclusive), as requested.")
    period_end: datetime = Field(description="End of the period (exclusive), as requested.")
    interval: Interval = Field(description="Bucket size: `day`, `week` (ISO, Monday) or `month`.")
    time_zone: str = Field(description="IANA zone the buckets start in.", examples=["UTC"])
    source: ReportSource = Field(
        description="Where the figures come from: `rollup` (the daily rollups: no `metadata.*` "
        "filter, a period of whole local days in a zone with rollups), `facts` (the metric facts "
        "of the period, scanned per request) or `clocks` (SLA attainment reads the SLA clocks).",
        examples=["rollup"],
    )
    approximate: bool = Field(
        description="True when medians and 90th percentiles come from the rollups' log-scale "
        "histogram: each is within 4.8 % of the exact value (counts, sums and means are exact). "
        "From rollups the `clock` figures are null (`source=facts` gives them)."
    )


class DurationBucket(BaseModel):
    start: datetime = Field(description="Start of the day/week/month in the report's time zone.")
    tickets: int = Field(description="Tickets counted in the bucket (one per ticket).")
    calendar: Durations = Field(description="Wall-clock seconds.")
    business_tickets: int = Field(
        description="Of those, tickets measured in business time (their SLA policy has a calendar)."
    )
    business: Durations = Field(
        description="Business seconds in the calendar of the ticket's SLA policy (pauses not "
        "left out); over `business_tickets` tickets."
    )
    clock: Durations = Field(
        description="Seconds the SLA clock counted: the policy's business (or calendar) time, "
        "without paused time (pending/on hold) and, for resolution, without time solved; "
        "tickets with a fulfilled clock only (null without)."
    )


class DurationReport(ReportBase):
    measure: ResolutionMeasure | None = Field(
        None, description="Resolution only: `first` (first solve) or `full` (last solve)."
    )
    buckets: list[DurationBucket] = Field(description="Buckets with at least one ticket, in order.")


class BacklogBucket(BaseModel):
    start: datetime = Field(description="Start of the bucket in the report's time zone.")
    created: int = Field(description="Tickets created in the bucket.")
    reopened: int = Field(description="Reopens in the bucket.")
    solved: int = Field(description="Solves in the bucket (to solved or closed).")
    backlog: int = Field(description="Tickets open (not solved or closed) at the bucket's end.")


class BacklogReport(ReportBase):
    opening: int = Field(description="Tickets open at `period_start`.")
    buckets: list[BacklogBucket] = Field(description="Every bucket of the period, in order.")


class ReopenBucket(BaseModel):
    start: datetime = Field(description="Start of the bucket in the report's time zone.")
    solved: int = Field(description="Tickets solved for the first time in the bucket.")
    reopened_tickets: int = Field(description="Of those, tickets reopened since (at least once).")
    reopen_rate: float | None = Field(description="`reopened_tickets / solved` (null if none).")
    reopens: int = Field(description="Reopens that happened in the bucket (any ticket).")
    reopen_after_avg: float | None = Field(
        description="Mean wall seconds from the solve to those reopens."
    )


class ReopenReport(ReportBase):
    buckets: list[ReopenBucket] = Field(description="Buckets with a solve or a reopen, in order.")


class VolumeCount(BaseModel):
    key: str | None = Field(description="Channel, priority or agent id (null: unassigned).")
    tickets: int = Field(description="Tickets created.")


class VolumeBucket(BaseModel):
    start: datetime = Field(description="Start of the bucket in the report's time zone.")
    tickets: int = Field(description="Tickets created in the bucket.")
    groups: list[VolumeCount] = Field(description="The same, by `group_by`.")


class VolumeReport(ReportBase):
    group_by: VolumeGroup = Field(description="`channel`, `priority` or `agent`.")
    buckets: list[VolumeBucket] = Field(description="Buckets with a ticket, in order.")


class AttainmentRow(BaseModel):
    start: datetime = Field(description="Start of the bucket in the report's time zone.")
    kind: str = Field(description="`first_response`, `next_response` or `resolution`.")
    met: int = Field(description="Clocks fulfilled before their due time.")
    breached: int = Field(description="Clocks that breached.")
    attainment: float | None = Field(description="`met / (met + breached)`.")
    business: int = Field(description="Of met + breached, clocks with a business-time target.")


class AttainmentReport(ReportBase):
    buckets: list[AttainmentRow] = Field(description="One row per bucket and clock kind.")


class FactsBackfill(BaseModel):
    tickets: int = Field(description="Tickets read.")
    facts: int = Field(description="Facts written (those already there are left as they are).")
