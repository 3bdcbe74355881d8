"""Business-time engine against a slow reference that walks minute by minute (ADR 0013).

The reference uses nothing but ``datetime.fromtimestamp(t, zone)`` and the raw weekly intervals:
an independent statement of "t is business time".
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpline.sla.business_time import (
    DAY,
    Calendar,
    CalendarTime,
    Interval,
    NoBusinessTime,
    epoch,
    parse_hhmm,
)

pytestmark = pytest.mark.unit

H = 3600


def is_business(cal: Calendar, t: int) -> bool:
    local = datetime.fromtimestamp(t, ZoneInfo(cal.zone))
    if cal.is_holiday(local.date()):
        return False
    sod = local.hour * 3600 + local.minute * 60 + local.second
    wd = local.weekday()
    for i in cal.intervals:
        if i.end > i.start:
            if wd == i.weekday and i.start <= sod < i.end:
                return True
        else:
            if wd == i.weekday and sod >= i.start:
                return True
            if wd == (i.weekday + 1) % 7 and sod < i.end:
                return True
    return False


def ref_elapsed(cal: Calendar, a: int, b: int) -> int:
    return sum(60 for m in range(a, b, 60) if is_business(cal, m))


def ref_add(cal: Calendar, start: int, seconds: int) -> int:
    if seconds == 0:
        return start
    left = seconds
    m = start
    while True:
        if is_business(cal, m):
            left -= 60
            if left == 0:
                return m + 60
        m += 60


def at(zone: str, *args: int) -> int:
    return epoch(datetime(*args, tzinfo=ZoneInfo(zone)))  # type: ignore[misc]


OFFICE = tuple(Interval(d, 9 * H, 17 * H) for d in range(5))
SPLIT = tuple(Interval(d, s, e) for d in range(5) for s, e in ((8 * H, 12 * H), (13 * H, 17 * H)))
# A night shift: Sunday to Thursday 22:00-06:00 (overnight), plus short Saturday hours at the
# time DST changes in Europe (01:30-03:30 on Sunday is covered by the Saturday night shift).
NIGHT = (*(Interval(d, 22 * H, 6 * H) for d in (6, 0, 1, 2, 3)), Interval(5, 23 * H, 4 * H))
# Around the clock except Sunday: DST gaps and folds fall inside business time.
ALMOST_ALWAYS = tuple(Interval(d, 0, DAY) for d in range(6))

ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe")
# DST transitions of 2025 and 2026 (local dates) in the zones above.
TRANSITIONS = {
    "Europe/Berlin": [date(2025, 3, 30), date(2025, 10, 26), date(2026, 3, 29), date(2026, 10, 25)],
    "America/New_York": [date(2025, 3, 9), date(2025, 11, 2), date(2026, 3, 8), date(2026, 11, 1)],
    "Australia/Lord_Howe": [date(2025, 4, 6), date(2025, 10, 5), date(2026, 4, 5)],
}


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    zone = draw(st.sampled_from(ZONES[:2]))
    intervals = draw(st.sampled_from([OFFICE, SPLIT, NIGHT, ALMOST_ALWAYS]))
    # Holidays near the transitions, one-off and yearly.
    near = TRANSITIONS[zone]
    holidays = draw(st.frozensets(st.sampled_from(near), max_size=2))
    yearly = draw(st.frozensets(st.sampled_from([(12, 25), (3, 30), (11, 2), (1, 1)]), max_size=2))
    return Calendar(zone, intervals, frozenset(holidays), frozenset(yearly))


@st.composite
def starts(draw: st.DrawFn, zone: str) -> int:
    day = draw(st.sampled_from(TRANSITIONS[zone]))
    base = epoch(datetime(day.year, day.month, day.day, tzinfo=UTC))
    return base + draw(st.integers(-3 * DAY // 60, 3 * DAY // 60)) * 60


SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class TestAgainstReference:
    @SLOW
    @given(data=st.data())
    def test_elapsed_matches_minute_walk(self, data: st.DataObject) -> None:
        cal = data.draw(calendars())
        a = data.draw(starts(cal.zone))
        b = a + data.draw(st.integers(0, 5 * DAY // 60)) * 60
        assert cal.elapsed(a, b) == ref_elapsed(cal, a, b)

    @SLOW
    @given(data=st.data())
    def test_add_matches_minute_walk(self, data: st.DataObject) -> None:
        cal = data.draw(calendars())
        a = data.draw(starts(cal.zone))
        seconds = data.draw(st.integers(0, 40 * 60)) * 60
        assert cal.add(a, seconds) == ref_add(cal, a, seconds)

    @settings(max_examples=200, deadline=None)
    @given(data=st.data())
    def test_add_and_elapsed_agree_to_the_second(self, data: st.DataObject) -> None:
        cal = data.draw(calendars())
        a = data.draw(starts(cal.zone)) + data.draw(st.integers(0, 59))
        seconds = data.draw(st.integers(1, 30 * H))
        due = cal.add(a, seconds)
        assert cal.elapsed(a, due) == seconds
        assert cal.elapsed(a, due - 1) < seconds  # the earliest such instant
        assert is_business(cal, due - 1)

    @settings(max_examples=100, deadline=None)
    @given(data=st.data())
    def test_elapsed_is_additive(self, data: st.DataObject) -> None:
        cal = data.draw(calendars())
        a = data.draw(starts(cal.zone)) + data.draw(st.integers(0, 59))
        b = a + data.draw(st.integers(0, 3 * DAY))
        c = b + data.draw(st.integers(0, 3 * DAY))
        assert cal.elapsed(a, c) == cal.elapsed(a, b) + cal.elapsed(b, c)

    @settings(max_examples=40, deadline=None)
    @given(start=st.integers(0, 3 * DAY // 60), minutes=st.integers(0, 2 * DAY // 60))
    def test_lord_howe_half_hour_dst(self, start: int, minutes: int) -> None:
        cal = Calendar("Australia/Lord_Howe", ALMOST_ALWAYS)
        a = at("Australia/Lord_Howe", 2025, 4, 5) + start * 60
        b = a + minutes * 60
        assert cal.elapsed(a, b) == ref_elapsed(cal, a, b)


class TestKnownCases:
    def test_spring_forward_day_is_one_hour_shorter_around_the_clock(self) -> None:
        cal = Calendar("Europe/Berlin", ALMOST_ALWAYS)
        a, b = at("Europe/Berlin", 2026, 3, 28), at("Europe/Berlin", 2026, 3, 30)  # Sat..Mon
        assert cal.elapsed(a, b) == 24 * H  # Saturday only; Sunday is closed

        cal = Calendar("Europe/Berlin", tuple(Interval(d, 0, DAY) for d in range(7)))
        assert cal.elapsed(at("Europe/Berlin", 2026, 3, 29), at("Europe/Berlin", 2026, 3, 30)) == (
            23 * H
        )
        assert cal.elapsed(
            at("Europe/Berlin", 2026, 10, 25), at("Europe/Berlin", 2026, 10, 26)
        ) == (25 * H)

    def test_office_hours_across_a_weekend_and_holiday(self) -> None:
        cal = Calendar("America/New_York", OFFICE, yearly_holidays=frozenset({(12, 25)}))
        thu = at("America/New_York", 2026, 12, 24, 16)  # Thursday 16:00, Friday is Christmas
        assert cal.add(thu, 2 * H) == at("America/New_York", 2026, 12, 28, 10)

    def test_overnight_interval_cut_by_a_holiday_on_its_second_day(self) -> None:
        cal = Calendar(
            "Europe/Berlin", (Interval(0, 22 * H, 6 * H),), frozenset({date(2026, 1, 6)})
        )
        mon = at("Europe/Berlin", 2026, 1, 5)  # Monday; Tuesday 6 January is a holiday
        assert cal.elapsed(mon, mon + 7 * DAY) == 2 * H

    def test_two_intervals_a_day(self) -> None:
        cal = Calendar("Europe/Berlin", SPLIT)
        mon8 = at("Europe/Berlin", 2026, 6, 1, 8)
        assert cal.add(mon8, 5 * H) == at("Europe/Berlin", 2026, 6, 1, 14)
        assert cal.add(mon8, 4 * H) == at("Europe/Berlin", 2026, 6, 1, 12)

    def test_add_from_inside_a_closed_period_starts_at_the_next_opening(self) -> None:
        cal = Calendar("Europe/Berlin", OFFICE)
        sat = at("Europe/Berlin", 2026, 6, 6, 12)
        assert cal.add(sat, 1) == at("Europe/Berlin", 2026, 6, 8, 9) + 1
        assert cal.add(sat, 0) == sat

    def test_no_business_time_at_all(self) -> None:
        cal = Calendar("Europe/Berlin", (Interval(0, 9 * H, 9 * H + 60),))
        every_monday = frozenset(
            date.fromordinal(d)
            for d in range(date(2026, 1, 5).toordinal(), date(2047, 1, 1).toordinal(), 7)
        )
        cal = Calendar("Europe/Berlin", cal.intervals, every_monday)
        with pytest.raises(NoBusinessTime):
            cal.add(at("Europe/Berlin", 2026, 1, 1), 60)

    def test_calendar_time(self) -> None:
        assert CalendarTime().add(100, 50) == 150
        assert CalendarTime().elapsed(100, 50) == 0

    def test_parse_hhmm(self) -> None:
        assert parse_hhmm("09:30") == 9 * H + 1800
        assert parse_hhmm("24:00") == DAY
        with pytest.raises(ValueError):
            parse_hhmm("24:30")
