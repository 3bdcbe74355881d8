"""Representations of duration reports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class Interval(StrEnum):
    day = "day"
    week = "week"
    month = "month"


class Durations(BaseModel):
    avg: float | None = Field(description="Mean, seconds.")
    p50: float | None = Field(description="Median, seconds.")
    p90: float | None = Field(description="90th percentile, seconds.")


class DurationBucket(BaseModel):
    start: datetime = Field(description="Start of the day/week/month in the report's time zone.")
    tickets: int = Field(description="Clocks fulfilled in the bucket (one per ticket).")
    calendar: Durations = Field(description="Wall-clock time from start to fulfilment.")
    clock: Durations = Field(
        description="Time the SLA clock counted: the policy's business (or calendar) time, "
        "without paused time (pending/on hold) and, for resolution, without time solved."
    )


class DurationReport(BaseModel):
    metric: str = Field(description="`first_response` or `resolution`.")
    definition: str = Field(description="What the numbers count, in words.")
    period_start: datetime
    period_end: datetime
    interval: Interval
    time_zone: str
    buckets: list[DurationBucket] = Field(description="Buckets with at least one ticket, in order.")
