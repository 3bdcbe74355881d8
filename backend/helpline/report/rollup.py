"""What a ticket adds to the daily rollups, and the change from what was added before (pure).

A ticket's *contributions* follow from all its metric facts (``contributions``); the rollups
hold, per ticket, the contributions of the facts it had when it was last synced, under the key
(priority, team, mailbox, channel, assignee) it had then. Syncing adds the new contributions
under the current key and takes the old ones away (``delta``), so a re-prioritised or reassigned
ticket moves between keys, a reopen withdraws a solve from ``solved_final``, and a deleted ticket
leaves. docs/reports.md, "Rollups".
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from helpline.report.histogram import bin_of

NIL = uuid.UUID(int=0)  # "none" in a key column (keys are NOT NULL so they can be a primary key)
DURATION_KINDS = frozenset({"first_response", "solved_first", "solved_final"})
# 0: no key (totals); 1: priority, team, mailbox, channel; 2: 1 + assignee; 3: assignee only
# (volume by agent and the agent filter alone read days by agents, not by every key too).
GRAINS = (0, 1, 2, 3)


@dataclass(frozen=True, slots=True)
class Key:
    priority: str = ""
    team_id: uuid.UUID = NIL
    mailbox_id: uuid.UUID = NIL
    channel: str = ""
    assignee_id: uuid.UUID = NIL

    def at(self, grain: int) -> Key:
        if grain == 0:
            return Key()
        if grain == 1:
            return Key(self.priority, self.team_id, self.mailbox_id, self.channel)
        if grain == 3:
            return Key(assignee_id=self.assignee_id)
        return self


@dataclass(frozen=True, slots=True)
class Contribution:
    kind: str
    at: datetime
    calendar: int | None = None
    business: int | None = None


@dataclass(slots=True)
class Sums:
    n: int = 0
    cal_n: int = 0
    cal_sum: int = 0
    bus_n: int = 0
    bus_sum: int = 0
    cal_hist: dict[int, int] = field(default_factory=dict)
    bus_hist: dict[int, int] = field(default_factory=dict)

    def add(self, c: Contribution, sign: int) -> None:
        self.n += sign
        timed = c.kind in DURATION_KINDS
        if c.calendar is not None:
            self.cal_n += sign
            self.cal_sum += sign * c.calendar
            if timed:
                b = bin_of(c.calendar)
                self.cal_hist[b] = self.cal_hist.get(b, 0) + sign
        if c.business is not None:
            self.bus_n += sign
            self.bus_sum += sign * c.business
            if timed:
                b = bin_of(c.business)
                self.bus_hist[b] = self.bus_hist.get(b, 0) + sign

    def is_zero(self) -> bool:
        return not (
            self.n
            or self.cal_n
            or self.cal_sum
            or self.bus_n
            or self.bus_sum
            or any(self.cal_hist.values())
            or any(self.bus_hist.values())
        )


def contributions(facts: Sequence[Any]) -> list[Contribution]:
    """A ticket's contributions from its facts (rows with kind, seq, occurred_at,
    calendar_seconds, business_seconds)."""
    out: list[Contribution] = []
    solves = sorted((f for f in facts if f.kind == "solved"), key=lambda f: f.seq)
    reopens = [f for f in facts if f.kind == "reopened"]
    last_reopen = max((f.seq for f in reopens), default=0)
    for f in facts:
        if f.kind == "created":
            out.append(Contribution("created", f.occurred_at))
        elif f.kind == "first_response":
            out.append(
                Contribution(
                    "first_response", f.occurred_at, f.calendar_seconds, f.business_seconds
                )
            )
        elif f.kind == "solved":
            out.append(Contribution("solved", f.occurred_at))
        elif f.kind == "reopened":
            out.append(Contribution("reopened", f.occurred_at, f.calendar_seconds))
    if solves:
        first, last = solves[0], solves[-1]
        if first.seq == 1:
            out.append(
                Contribution(
                    "solved_first",
                    first.occurred_at,
                    first.calendar_seconds,
                    first.business_seconds,
                )
            )
            if reopens:
                out.append(Contribution("reopened_first_solve", first.occurred_at))
        if last_reopen < last.seq:  # no reopen since the last solve: full resolution
            out.append(
                Contribution(
                    "solved_final", last.occurred_at, last.calendar_seconds, last.business_seconds
                )
            )
    return out


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(moment: datetime, zone: str) -> date:
    return moment.astimezone(_zone(zone)).date()


RowKey = tuple[str, int, str, date, Key]  # zone, grain, kind, day, key


def add_to(
    acc: dict[RowKey, Sums],
    items: Iterable[Contribution],
    key: Key,
    zones: Iterable[str],
    sign: int,
) -> None:
    """Add (sign 1) or take away (sign -1) contributions in every zone and grain."""
    items = list(items)
    for zone in zones:
        for c in items:
            day = local_day(c.at, zone)
            for grain in GRAINS:
                row = (zone, grain, c.kind, day, key.at(grain))
                sums = acc.get(row)
                if sums is None:
                    sums = acc[row] = Sums()
                sums.add(c, sign)
