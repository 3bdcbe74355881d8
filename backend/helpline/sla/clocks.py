"""A ticket's SLA clocks, derived from its history by one pure function (ADR 0013).

The same function serves the worker following the change feed, the recompute job and the tests:
a deadline is always explained by "this policy, this history".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from helpline.sla.business_time import CalendarTime, Engine

RESOLVED = frozenset({"solved", "closed"})


class ClockKind(StrEnum):
    first_response = "first_response"
    next_response = "next_response"
    resolution = "resolution"


RESPONSE_KINDS = (ClockKind.first_response, ClockKind.next_response)


@dataclass(frozen=True, slots=True)
class Target:
    seconds: int
    engine: Engine  # business time of a calendar, or CalendarTime


@dataclass(frozen=True, slots=True)
class Rules:
    """What a policy asks of one ticket (its priority already applied)."""

    targets: dict[ClockKind, Target]
    pause_statuses: frozenset[str] = frozenset({"pending", "on_hold"})
    warning_percent: int = 80


@dataclass(frozen=True, slots=True)
class StatusChange:
    at: int
    status: str


@dataclass(frozen=True, slots=True)
class Message:
    at: int
    sender_type: str  # customer | agent | system
    is_internal: bool

    @property
    def is_staff_reply(self) -> bool:
        """What counts as a response: a public message by staff (no note, no automatic one)."""
        return self.sender_type == "agent" and not self.is_internal

    @property
    def is_customer_message(self) -> bool:
        return self.sender_type == "customer" and not self.is_internal


@dataclass(frozen=True, slots=True)
class Timeline:
    created_at: int
    initial_status: str
    happenings: tuple[StatusChange | Message, ...]

    def ordered(self) -> list[StatusChange | Message]:
        # At the same second a status change goes first: mail processing reopens a ticket and
        # adds the customer's message in one transaction (one timestamp).
        return sorted(self.happenings, key=lambda h: (h.at, isinstance(h, Message)))


@dataclass(slots=True)
class Clock:
    kind: ClockKind
    cycle: int
    target_seconds: int
    business: bool
    started_at: int
    used_seconds: int = 0  # in the clock's own time, up to running_since / paused_at
    running_since: int | None = None
    paused_at: int | None = None
    fulfilled_at: int | None = None
    stopped_at: int | None = None
    breached_at: int | None = None
    due_at: int | None = None
    warn_at: int | None = None
    engine: Engine = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    @property
    def is_open(self) -> bool:
        return self.fulfilled_at is None and self.stopped_at is None

    def time_left(self, now: int) -> int:
        """Seconds (in the clock's own time) left before the deadline; negative when overdue."""
        used = self.used_seconds
        if self.running_since is not None and self.is_open:
            used += self.engine.elapsed(self.running_since, now)
        return self.target_seconds - used

    # -- the clock's motion ----------------------------------------------------------------
    def advance(self, t: int) -> None:
        """Count the running time up to ``t``, noting the instant the budget ran out."""
        if self.running_since is None:
            return
        spent = self.engine.elapsed(self.running_since, t)
        if self.breached_at is None and self.used_seconds + spent >= self.target_seconds:
            self.breached_at = self.engine.add(
                self.running_since, self.target_seconds - self.used_seconds
            )
        self.used_seconds += spent
        self.running_since = t

    def run(self, t: int, running: bool) -> None:
        if running and self.running_since is None:
            self.running_since, self.paused_at = t, None
        elif not running and self.running_since is not None:
            self.running_since, self.paused_at = None, t
        elif not running and self.paused_at is None:
            self.paused_at = t


def derive(rules: Rules, timeline: Timeline, now: int) -> list[Clock]:
    """Every clock of a ticket as of ``now``: started, paused, fulfilled, breached, due."""
    clocks: list[Clock] = []
    status = timeline.initial_status

    def running() -> bool:
        return status not in rules.pause_statuses and status not in RESOLVED

    def start(kind: ClockKind, t: int, cycle: int) -> None:
        target = rules.targets.get(kind)
        if target is None:
            return
        clock = Clock(
            kind=kind,
            cycle=cycle,
            target_seconds=target.seconds,
            business=not _is_calendar_time(target.engine),
            started_at=t,
            engine=target.engine,
        )
        clock.run(t, running())
        clocks.append(clock)

    def open_clocks(*kinds: ClockKind) -> list[Clock]:
        return [c for c in clocks if c.kind in kinds and c.is_open]

    start(ClockKind.first_response, timeline.created_at, 0)
    start(ClockKind.resolution, timeline.created_at, 0)
    next_cycle = 1
    for happening in timeline.ordered():
        t = happening.at
        for clock in clocks:
            if clock.is_open:
                clock.advance(t)
        if isinstance(happening, StatusChange):
            was_resolved, status = status in RESOLVED, happening.status
            if status in RESOLVED:
                for clock in open_clocks(*RESPONSE_KINDS):
                    clock.run(t, False)
                    clock.stopped_at = t  # solved without a reply: stopped, not fulfilled
                for clock in open_clocks(ClockKind.resolution):
                    clock.run(t, False)
                    clock.fulfilled_at = t
            elif was_resolved:  # reopened: resolution resumes where it stopped
                for clock in clocks:
                    if clock.kind is ClockKind.resolution and clock.fulfilled_at is not None:
                        clock.fulfilled_at = None
            for clock in open_clocks(*ClockKind):
                clock.run(t, running())
        elif happening.is_staff_reply:
            for clock in open_clocks(*RESPONSE_KINDS):
                clock.run(t, False)
                clock.fulfilled_at = t
        elif (
            happening.is_customer_message
            and status not in RESOLVED
            and not open_clocks(*RESPONSE_KINDS)
        ):
            start(ClockKind.next_response, t, next_cycle)
            next_cycle += 1
    for clock in clocks:
        _finish(clock, rules, now)
    return clocks


def _finish(clock: Clock, rules: Rules, now: int) -> None:
    """Deadline and warning of an open clock; a crossing already past ``now`` is a breach."""
    if not clock.is_open:
        clock.running_since = clock.paused_at = None
        return
    if clock.running_since is None:
        return  # paused: no deadline, only time left
    left = clock.target_seconds - clock.used_seconds
    engine = clock.engine
    clock.due_at = engine.add(clock.running_since, left) if left > 0 else clock.breached_at
    warn_budget = clock.target_seconds * rules.warning_percent // 100 - clock.used_seconds
    if 0 < rules.warning_percent < 100 and warn_budget > 0:
        clock.warn_at = engine.add(clock.running_since, warn_budget)
    if clock.breached_at is None and clock.due_at is not None and clock.due_at <= now:
        clock.breached_at = clock.due_at


def _is_calendar_time(engine: Engine) -> bool:
    return isinstance(engine, CalendarTime)


def next_alarm(clock: Clock, *, warned: bool, breach_noticed: bool) -> int | None:
    """When the alarm job must look at this clock next (ADR 0013 §5), or never."""
    if breach_noticed:
        return None
    breach = clock.breached_at if clock.breached_at is not None else clock.due_at
    if breach is None:
        return None
    if not warned and clock.is_open and clock.breached_at is None and clock.warn_at is not None:
        return min(clock.warn_at, breach)
    return breach
