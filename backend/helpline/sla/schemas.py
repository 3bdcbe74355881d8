"""Representations of calendars, SLA policies, recomputations and a ticket's SLA state."""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from helpline.kit.patch import PatchBody
from helpline.models.enums import TicketPriority, TicketStatus

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
HHMM_END = r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"
ClockKindName = Literal["first_response", "next_response", "resolution"]


class BusinessInterval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekday: int = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday.")
    start: str = Field(pattern=HHMM, description="Local wall time `HH:MM`.", examples=["09:00"])
    end: str = Field(
        pattern=HHMM_END,
        description="Local wall time `HH:MM` (`24:00` = midnight). Not after `start`: the "
        "interval runs overnight into the next day.",
        examples=["17:00"],
    )


class Holiday(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date | None = Field(None, description="A one-off local date, closed all day.")
    month: int | None = Field(None, ge=1, le=12, description="Yearly rule: month …")
    day: int | None = Field(None, ge=1, le=31, description="… and day of month.")
    name: str = Field("", max_length=200, description="What the holiday is.")

    @model_validator(mode="after")
    def one_kind(self) -> Holiday:
        yearly = self.month is not None and self.day is not None
        if (self.date is not None) == yearly or (self.month is None) != (self.day is None):
            raise ValueError("give either `date`, or `month` and `day` (a yearly holiday)")
        if yearly:
            dt.date(2024, self.month, self.day)  # type: ignore[arg-type]  # rejects 31 April
        return self


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


class CalendarCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Unique name.")
    time_zone: str = Field(description="IANA time zone.", examples=["Europe/Berlin"])
    intervals: list[BusinessInterval] = Field(
        min_length=1, max_length=100, description="Weekly business hours (several per day)."
    )
    holidays: list[Holiday] = Field(
        default_factory=list, max_length=2000, description="Closed dates: one-off or yearly."
    )

    _check_zone = field_validator("time_zone")(_zone)


class CalendarUpdate(PatchBody):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200, description="Unique name.")
    time_zone: str | None = Field(None, description="IANA time zone.")
    intervals: list[BusinessInterval] | None = Field(
        None, min_length=1, max_length=100, description="Weekly business hours (several per day)."
    )
    holidays: list[Holiday] | None = Field(
        None, max_length=2000, description="Closed dates: one-off or yearly."
    )

    @field_validator("time_zone")
    @classmethod
    def _check_zone(cls, value: str | None) -> str | None:
        return None if value is None else _zone(value)


class HolidaySeed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    country: str = Field(
        pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code.", examples=["DE"]
    )
    subdivision: str | None = Field(
        None, max_length=10, description="State/province code, e.g. `BY`.", examples=["BY"]
    )
    years: list[int] = Field(
        min_length=1, max_length=10, description="Years to add the public holidays of."
    )

    @field_validator("years")
    @classmethod
    def _sane_years(cls, value: list[int]) -> list[int]:
        if any(not 1970 <= y <= 2200 for y in value):
            raise ValueError("years must be within 1970-2200")
        return sorted(set(value))


class CalendarRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Calendar id.")
    name: str = Field(description="Unique name.")
    time_zone: str = Field(description="IANA time zone.", examples=["Europe/Berlin"])
    intervals: list[BusinessInterval] = Field(
        description="Weekly business hours (several per day)."
    )
    holidays: list[Holiday] = Field(description="Closed dates: one-off or yearly.")
    created_at: datetime = Field(description="When it was created (UTC).")
    updated_at: datetime = Field(description="When it was last changed (UTC).")


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: int = Field(ge=60, le=366 * 86400, description="The time allowed.")
    business: bool = Field(
        True, description="Counted in the policy calendar's business time (else calendar time)."
    )


class PriorityTargets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_response: TargetIn | None = Field(None, description="Until the first public reply.")
    next_response: TargetIn | None = Field(
        None, description="From a customer message to the next public staff reply."
    )
    resolution: TargetIn | None = Field(None, description="Until the ticket is solved.")


class Conditions(BaseModel):
    """All given conditions must hold; an empty object matches every ticket."""

    model_config = ConfigDict(extra="forbid")

    priorities: list[TicketPriority] = Field(
        default_factory=list, description="The ticket's priority is one of these (empty: any)."
    )
    customer_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=1000,
        description="The ticket's customer is one of these users (empty: any).",
    )
    mailbox_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=1000,
        description="The ticket came in through one of these mailboxes (empty: any).",
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Metadata key → value the ticket must have (equal)."
    )


PAUSE_DEFAULT = [TicketStatus.pending, TicketStatus.on_hold]


def _pausable(value: list[TicketStatus] | None) -> list[TicketStatus] | None:
    if value and {TicketStatus.solved, TicketStatus.closed} & set(value):
        raise ValueError("solved and closed end the clocks; they cannot pause them")
    return value


class PolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Unique name.")
    position: int = Field(ge=0, le=1_000_000, description="Lower first; the first match applies.")
    enabled: bool = Field(True, description="A disabled policy is skipped when matching.")
    conditions: Conditions = Field(
        default_factory=Conditions, description="Which tickets the policy applies to."
    )
    calendar_id: uuid.UUID | None = Field(
        None, description="Calendar of business-time targets; required if any target is."
    )
    targets: dict[TicketPriority, PriorityTargets] = Field(
        description="Targets per ticket priority; a priority left out has no clocks."
    )
    pause_statuses: list[TicketStatus] = Field(
        default_factory=lambda: list(PAUSE_DEFAULT),
        description="Statuses that pause the clocks (waiting on the customer).",
    )
    warning_percent: int = Field(
        80, ge=0, le=99, description="`sla.warning` once this share of a target is used; 0: none."
    )

    _pausable = field_validator("pause_statuses")(_pausable)


class PolicyUpdate(PatchBody):
    model_config = ConfigDict(extra="forbid")
    NULLABLE = frozenset({"calendar_id"})  # a policy of calendar-time targets only

    name: str | None = Field(None, min_length=1, max_length=200, description="Unique name.")
    position: int | None = Field(
        None, ge=0, le=1_000_000, description="Lower first; the first match applies."
    )
    enabled: bool | None = Field(None, description="A disabled policy is skipped when matching.")
    conditions: Conditions | None = Field(None, description="Which tickets the policy applies to.")
    calendar_id: uuid.UUID | None = Field(
        None, description="Calendar of business-time targets; required if any target is."
    )
    targets: dict[TicketPriority, PriorityTargets] | None = Field(
        None, description="Targets per ticket priority; a priority left out has no clocks."
    )
    pause_statuses: list[TicketStatus] | None = Field(
        None, description="Statuses that pause the clocks (waiting on the customer)."
    )
    warning_percent: int | None = Field(
        None, ge=0, le=99, description="`sla.warning` once this share of a target is used; 0: none."
    )

    _pausable = field_validator("pause_statuses")(_pausable)


class PolicyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Policy id.")
    name: str = Field(description="Unique name.")
    position: int = Field(description="Lower first; the first match applies.")
    enabled: bool = Field(description="A disabled policy is skipped when matching.")
    conditions: Conditions = Field(description="Which tickets the policy applies to.")
    calendar_id: uuid.UUID | None = Field(
        description="Calendar of business-time targets; required if any target is."
    )
    targets: dict[TicketPriority, PriorityTargets] = Field(
        description="Targets per ticket priority; a priority left out has no clocks."
    )
    pause_statuses: list[TicketStatus] = Field(
        description="Statuses that pause the clocks (waiting on the customer)."
    )
    warning_percent: int = Field(
        description="`sla.warning` once this share of a target is used; 0: none."
    )
    created_at: datetime = Field(description="When it was created (UTC).")
    updated_at: datetime = Field(description="When it was last changed (UTC).")


class PolicyWritten(PolicyRead):
    recompute_id: uuid.UUID = Field(
        description="The recomputation of open tickets' clocks this change queued."
    )


EXAMPLE_ID_A = "0193b6a0-5b4c-7d2e-9f10-2a3b4c5d6e7f"
EXAMPLE_ID_B = "0193b6a0-6c5d-7e3f-8a21-3b4c5d6e7f80"


class PolicyOrder(BaseModel):
    """The order in which policies are tried: every policy's id, each once."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"ids": [EXAMPLE_ID_B, EXAMPLE_ID_A]}]}
    )

    ids: list[uuid.UUID] = Field(
        max_length=1000,
        description="Every policy's id, first tried first (exactly the current policies).",
    )

    @field_validator("ids")
    @classmethod
    def _each_once(cls, value: list[uuid.UUID]) -> list[uuid.UUID]:
        if len(set(value)) != len(value):
            raise ValueError("each policy may appear only once")
        return value


class PolicyOrderWritten(BaseModel):
    policies: list[PolicyRead] = Field(description="Every policy in its new order.")
    recompute_id: uuid.UUID | None = Field(
        description="The recomputation of open tickets' clocks the new order queued (null: the "
        "order did not change)."
    )


class CalendarWritten(CalendarRead):
    recompute_id: uuid.UUID | None = Field(
        None, description="The recomputation this change queued (when a policy uses it)."
    )


class RecomputeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Recomputation id.")
    reason: str = Field(
        description="The change that queued it, e.g. `policy <id> changed`.",
        examples=["calendar 0d6f3c8e-5b7a-4c1e-9f2d-3a4b5c6d7e8f changed"],
    )
    state: Literal["queued", "running", "done", "failed"] = Field(
        description="`queued` (not started), `running` (batches of open tickets in progress), "
        "`done` or `failed`."
    )
    total: int = Field(description="Open tickets to recompute (counted when it started).")
    done: int = Field(description="Tickets recomputed so far.")
    created_at: datetime = Field(description="When the change queued it (UTC).")
    finished_at: datetime | None = Field(
        description="When the last open ticket was recomputed (UTC); null until `done`."
    )


class TicketSla(BaseModel):
    """A ticket's SLA state (kept by the worker from its history; lags a write by ~1 s)."""

    policy: uuid.UUID | None = Field(None, description="The policy that applies.")
    policy_name: str | None = Field(None, description="Name of the policy that applies.")
    first_response_due_at: datetime | None = Field(
        None, description="Deadline of the running first-response clock (null: none/paused)."
    )
    next_response_due_at: datetime | None = Field(
        None, description="Deadline of the running next-response clock (null: none/paused)."
    )
    resolution_due_at: datetime | None = Field(
        None, description="Deadline of the running resolution clock (null: none/paused)."
    )
    paused: bool = Field(False, description="A clock is open but paused (waiting on customer).")
    breached: list[ClockKindName] = Field(
        default_factory=list, description="Kinds whose target was missed at least once."
    )


class ClockRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str = Field(description="first_response | next_response | resolution.")
    cycle: int = Field(description="0; next_response: 1, 2, … one per customer message cycle.")
    policy_id: uuid.UUID | None = Field(description="The policy the clock was derived under.")
    target_seconds: int = Field(
        description="The time allowed, in seconds of the clock's own time (business or calendar)."
    )
    business: bool = Field(description="Counted in business time (else calendar time).")
    started_at: datetime = Field(
        description="When the clock started (UTC): ticket created, or the customer message of "
        "the cycle."
    )
    paused_at: datetime | None = Field(description="Paused since (waiting on the customer).")
    used_seconds: int = Field(description="Time used before the current run or pause.")
    due_at: datetime | None = Field(description="Deadline while running; null when paused/done.")
    fulfilled_at: datetime | None = Field(
        description="When the target was met (UTC): the public staff reply, or the ticket "
        "solved or closed."
    )
    stopped_at: datetime | None = Field(description="Ended unanswered (ticket solved).")
    breached_at: datetime | None = Field(description="When the target was missed.")


class SlaQueueItem(BaseModel):
    """A ticket in the SLA queue: what is about to breach, earliest deadline first."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Ticket id.")
    number: int = Field(description="Human-friendly ticket number (sequential, unique).")
    title: str = Field(description="Short summary.")
    status: TicketStatus = Field(description="Lifecycle status.")
    priority: TicketPriority = Field(description="Priority.")
    assigned_to: uuid.UUID | None = Field(description="Assignee, if any.")
    customer_id: uuid.UUID = Field(description="Customer the ticket belongs to.")
    updated_at: datetime = Field(description="Time of the last change of the ticket (UTC).")
    due_at: datetime = Field(description="The ticket's earliest running SLA deadline.")
    breached: list[ClockKindName] = Field(description="Kinds already breached on this ticket.")
    policy_id: uuid.UUID | None = Field(description="The policy that applies.")
