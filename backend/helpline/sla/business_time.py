"""Business-time arithmetic: pure, exact to the second, on integer epoch seconds (ADR 0013).

An instant is business time iff its local wall time (in the calendar's IANA zone) falls in one of
the weekly intervals and its local date is not a holiday. Overnight intervals (``end <= start``)
run into the next day and are cut at midnight, so a holiday closes exactly its own date. Across
DST: wall times skipped by a spring-forward gap never occur; a fall-back fold's repeated hour
occurs (and counts) twice — it is two real hours.

Time is split into spans of constant UTC offset; in a span, wall = utc + offset is monotonic, so
the span's business time is the intersection of its wall range with the day intervals, mapped
back. Transitions are found by bisection on ``zoneinfo`` and cached per zone and day; each UTC
day's business intervals (and their total) are computed once per calendar and cached, so that
``add``/``elapsed`` over many tickets cost a dictionary lookup per day, whole days in one step.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

DAY = 86_400
WEEK = 7 * DAY
# An add() that finds no business time within this horizon gives up (a calendar whose every
# interval falls on holidays): a deadline further than this is no deadline.
HORIZON_S = 20 * 366 * DAY
_HORIZON_WEEKS = -(-HORIZON_S // WEEK)  # add() searches this many whole weeks
_DAY_CACHE = 100_000  # days of intervals kept per calendar (a few MB at most)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class NoBusinessTime(ValueError):
    """The calendar has no business time within the horizon."""


class Engine(Protocol):
    def add(self, start: int, seconds: int) -> int: ...
    def elapsed(self, a: int, b: int) -> int: ...


def epoch(moment: datetime) -> int:
    """Whole epoch seconds of an aware datetime (fractions are floored)."""
    return int(moment.timestamp() // 1)


def instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class CalendarTime:
    """24/7: business time is all time."""

    def add(self, start: int, seconds: int) -> int:
        return start + max(seconds, 0)

    def elapsed(self, a: int, b: int) -> int:
        return max(b - a, 0)


@dataclass(frozen=True, slots=True)
class Interval:
    """Local wall-time interval on a weekday (0 = Monday), in seconds of the day."""

    weekday: int
    start: int
    end: int  # <= start: overnight, ends on the next day

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) … 6 (Sunday)")
        if not (0 <= self.start < DAY and 0 <= self.end <= DAY):
            raise ValueError("interval bounds must be within the day")


def parse_hhmm(text: str) -> int:
    """``"09:30"`` → seconds of the day; ``"24:00"`` is the end of the day."""
    hours, _, minutes = text.partition(":")
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise ValueError(f"not a time of day: {text!r}")
    return h * 3600 + m * 60


@dataclass(frozen=True)
class Calendar:
    zone: str
    intervals: tuple[Interval, ...]
    holidays: frozenset[date] = frozenset()
    yearly_holidays: frozenset[tuple[int, int]] = frozenset()  # (month, day)
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)
    _pieces: tuple[tuple[tuple[int, int], ...], ...] = field(init=False, repr=False, compare=False)
    # Per UTC day: its business intervals (epoch seconds) and their total. A recompute asks
    # the same few hundred days millions of times; the span/offset walk runs once per day.
    _days: dict[int, tuple[tuple[tuple[int, int], ...], int]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_tz", ZoneInfo(self.zone))
        object.__setattr__(self, "_pieces", _weekday_pieces(self.intervals))
        object.__setattr__(self, "_days", {})

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays or (day.month, day.day) in self.yearly_holidays

    # -- wall time -------------------------------------------------------------------------
    def _wall_pieces(self, wall_from: int, wall_to: int) -> Iterator[tuple[int, int]]:
        """Business intervals in wall seconds (naive local time as if UTC) within a range."""
        day_number = wall_from // DAY
        while day_number * DAY < wall_to:
            day = date.fromordinal(day_number + _EPOCH_ORDINAL)
            if not self.is_holiday(day):
                base = day_number * DAY
                for start, end in self._pieces[day.weekday()]:
                    lo, hi = max(base + start, wall_from), min(base + end, wall_to)
                    if lo < hi:
                        yield lo, hi
            day_number += 1

    # -- offsets ---------------------------------------------------------------------------
    def _offset(self, t: int) -> int:
        off = datetime.fromtimestamp(t, self._tz).utcoffset()
        assert off is not None
        return int(off.total_seconds())

    def _spans(self, a: int, b: int) -> Iterator[tuple[int, int, int]]:
        """(start, end, offset) spans of constant UTC offset covering [a, b)."""
        t = a
        while t < b:
            chunk = min(b, (t // DAY + 1) * DAY)
            transition = _transition(self.zone, t // DAY)
            off = self._offset(t)
            if transition is not None and t < transition < chunk:
                yield t, transition, off
                yield transition, chunk, self._offset(transition)
            else:
                yield t, chunk, off
            t = chunk

    def _day(self, day_number: int) -> tuple[tuple[tuple[int, int], ...], int]:
        """Business intervals of one UTC day (epoch seconds, in order) and their total."""
        got = self._days.get(day_number)
        if got is None:
            lo = day_number * DAY
            pieces: list[tuple[int, int]] = []
            for s, e, off in self._spans(lo, lo + DAY):
                pieces += [(a - off, b - off) for a, b in self._wall_pieces(s + off, e + off)]
            got = (tuple(pieces), sum(b - a for a, b in pieces))
            if len(self._days) >= _DAY_CACHE:
                self._days.clear()  # bounded: a walk over decades must not grow it forever
            self._days[day_number] = got
        return got

    def business(self, a: int, b: int) -> Iterator[tuple[int, int]]:
        """Business intervals within [a, b), in order, as epoch seconds."""
        day_number = a // DAY
        while day_number * DAY < b:
            for lo, hi in self._day(day_number)[0]:
                lo, hi = max(lo, a), min(hi, b)
                if lo < hi:
                    yield lo, hi
            day_number += 1

    # -- the two operations ----------------------------------------------------------------
    def elapsed(self, a: int, b: int) -> int:
        """Business seconds in [a, b)."""
        if b <= a:
            return 0
        total = 0
        day_number = a // DAY
        while day_number * DAY < b:
            day_start = day_number * DAY
            pieces, day_total = self._day(day_number)
            if a <= day_start and day_start + DAY <= b:
                total += day_total  # a whole day inside [a, b)
            else:
                for lo, hi in pieces:
                    lo, hi = max(lo, a), min(hi, b)
                    if lo < hi:
                        total += hi - lo
            day_number += 1
        return total

    def add(self, start: int, seconds: int) -> int:
        """The earliest instant by which ``seconds`` of business time have passed since start."""
        if seconds <= 0:
            return start
        left = seconds
        limit = start + _HORIZON_WEEKS * WEEK  # the horizon, whole weeks from start
        day_number = start // DAY
        while day_number * DAY < limit:
            day_start = day_number * DAY
            pieces, day_total = self._day(day_number)
            if start <= day_start and day_start + DAY <= limit and day_total < left:
                left -= day_total  # the whole day passes without reaching the target
            else:
                for lo, hi in pieces:
                    lo, hi = max(lo, start), min(hi, limit)
                    if lo >= hi:
                        continue
                    if hi - lo >= left:
                        return lo + left
                    left -= hi - lo
            day_number += 1
        raise NoBusinessTime(f"no business time within {HORIZON_S // DAY} days")


def _weekday_pieces(intervals: Iterable[Interval]) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Per weekday, sorted merged [start, end) pieces within the day (overnights split)."""
    days: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    for i in intervals:
        if i.end > i.start:
            days[i.weekday].append((i.start, i.end))
        else:  # overnight: the evening on its day, the morning on the next
            days[i.weekday].append((i.start, DAY))
            if i.end > 0:
                days[(i.weekday + 1) % 7].append((0, i.end))
    merged: list[tuple[tuple[int, int], ...]] = []
    for pieces in days:
        out: list[tuple[int, int]] = []
        for s, e in sorted(pieces):
            if out and s <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], e))
            else:
                out.append((s, e))
        merged.append(tuple(out))
    return tuple(merged)


@functools.lru_cache(maxsize=65_536)
def _transition(zone: str, day_number: int) -> int | None:
    """The first instant in UTC day ``day_number`` whose offset differs from the day's start."""
    tz = ZoneInfo(zone)

    def offset(t: int) -> timedelta | None:
        return datetime.fromtimestamp(t, tz).utcoffset()

    lo, hi = day_number * DAY, (day_number + 1) * DAY - 1
    first = offset(lo)
    if offset(hi) == first:
        return None  # real zones change offset at most once a day
    while hi - lo > 1:  # invariant: offset(lo) == first != offset(hi)
        mid = (lo + hi) // 2
        if offset(mid) == first:
            lo = mid
        else:
            hi = mid
    return hi
