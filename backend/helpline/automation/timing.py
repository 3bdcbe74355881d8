"""Time conditions of rules ("pending for 3 business days", "no customer reply for 48 h",
"unassigned for 30 min"): when each starts to hold for a ticket. Pure (no I/O): the runner
schedules a rule's timer at :func:`due_at` and the timer re-checks at the due instant.

A time condition is ``{"field": "time.<clock>", "op": "older_than", "value": {"amount": 3,
"unit": "business_days", "calendar_id": "…"}}``; ``<clock>`` names the instant it counts from
(:data:`CLOCKS`). Business units count in an SLA calendar (ADR 0013's engine).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from helpline.sla.business_time import Calendar, NoBusinessTime, epoch, instant

# The instant each clock counts from (facts ``time.<clock>``; None: the clock is not running,
# e.g. no agent has replied yet).
CLOCKS = (
    "created",  # the ticket was created
    "updated",  # its last change of any kind
    "status_changed",  # its status last changed (or it was created)
    "assignee_changed",  # its assignee last changed (or it was created)
    "customer_message",  # the customer last wrote (or the ticket was created)
    "agent_reply",  # the last public reply by an agent (None: none yet)
)
Unit = Literal["minutes", "hours", "days", "business_minutes", "business_hours", "business_days"]
WALL = {"minutes": 60, "hours": 3600, "days": 86_400}
BUSINESS_DAYS_HORIZON = 3 * 366


class Duration(BaseModel):
    """How long: ``amount`` ``unit``; business units need the SLA calendar they count in."""

    model_config = ConfigDict(extra="forbid")

    amount: int = Field(ge=1, le=100_000, description="How many units.")
    unit: Unit = Field(
        description="`minutes`, `hours`, `days` (wall clock) or `business_minutes`, "
        "`business_hours`, `business_days` (in `calendar_id`)."
    )
    calendar_id: uuid.UUID | None = Field(
        None, description="The SLA calendar business units count in (required for them)."
    )

    @model_validator(mode="after")
    def _calendar(self) -> Duration:
        if self.unit.startswith("business_") and self.calendar_id is None:
            raise ValueError(f"{self.unit} need a calendar_id (an SLA calendar)")
        if not self.unit.startswith("business_") and self.calendar_id is not None:
            raise ValueError("calendar_id applies to business units only")
        return self


def add(start: datetime, duration: Duration, calendars: Mapping[uuid.UUID, Calendar]) -> datetime:
    """``start`` + ``duration`` (business units in their calendar). NoBusinessTime when a
    calendar has none within its horizon; KeyError when the calendar is gone."""
    if duration.unit in WALL:
        return start + timedelta(seconds=duration.amount * WALL[duration.unit])
    calendar = calendars[duration.calendar_id]  # type: ignore[index]  # (validated: set)
    if duration.unit == "business_days":
        return add_business_days(calendar, start, duration.amount)
    seconds = duration.amount * (60 if duration.unit == "business_minutes" else 3600)
    # the engine counts whole seconds: the fraction of the start is kept
    base = epoch(start)
    return instant(calendar.add(base, seconds)) + (start - instant(base))


def is_business_day(calendar: Calendar, day: Any) -> bool:
    return not calendar.is_holiday(day) and any(
        i.weekday == day.weekday() for i in calendar.intervals
    )


def add_business_days(calendar: Calendar, start: datetime, days: int) -> datetime:
    """The same local time of day, ``days`` business days later (a business day: a weekday
    with opening hours in the calendar that is not a holiday). Friday 15:00 + 3 business days
    is Wednesday 15:00 when Saturday and Sunday are closed."""
    zone = ZoneInfo(calendar.zone)
    local = start.astimezone(zone)
    day, counted = local.date(), 0
    for _ in range(BUSINESS_DAYS_HORIZON):
        day += timedelta(days=1)
        if is_business_day(calendar, day):
            counted += 1
            if counted == days:
                wall = datetime.combine(day, local.time(), tzinfo=zone)
                return wall.astimezone(UTC)
    raise NoBusinessTime(f"fewer than {days} business days within {BUSINESS_DAYS_HORIZON} days")


def clock_of(field: str) -> str:
    return field.removeprefix("time.")


def due_of(
    field: str,
    duration: Duration,
    facts: Mapping[str, Any],
    calendars: Mapping[uuid.UUID, Calendar],
) -> datetime | None:
    """When one time condition starts to hold (None: its clock is not running)."""
    start = facts.get(field)
    if start is None:
        return None
    return add(start, duration, calendars)


def basis_of(fields: list[str], facts: Mapping[str, Any]) -> str:
    """The start instants a timer is due from: a new start (the ticket left pending and came
    back, the customer wrote again) is a new timer, fired again in every-time mode."""
    return ";".join(
        f"{clock_of(f)}={facts[f].isoformat() if facts.get(f) is not None else '-'}"
        for f in sorted(set(fields))
    )
