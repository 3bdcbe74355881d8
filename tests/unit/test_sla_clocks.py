"""Per-ticket clocks derived from history: pauses, replies that count and ones that don't."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from helpline.sla.business_time import Calendar, CalendarTime, Interval, epoch
from helpline.sla.clocks import (
    ClockKind,
    Message,
    Rules,
    StatusChange,
    Target,
    Timeline,
    derive,
    next_alarm,
)

pytestmark = pytest.mark.unit

H, M = 3600, 60
T0 = 1_800_000_000  # a fixed instant; calendar-time rules make every figure hand-checkable
CAL = CalendarTime()
RULES = Rules(
    targets={
        ClockKind.first_response: Target(1 * H, CAL),
        ClockKind.next_response: Target(2 * H, CAL),
        ClockKind.resolution: Target(8 * H, CAL),
    }
)


def agent(t: int, internal: bool = False) -> Message:
    return Message(T0 + t, "agent", internal)


def customer(t: int) -> Message:
    return Message(T0 + t, "customer", False)


def system(t: int) -> Message:
    return Message(T0 + t, "system", False)


def status(t: int, value: str) -> StatusChange:
    return StatusChange(T0 + t, value)


def clocks(*happenings: StatusChange | Message, now: int = 0, rules: Rules = RULES):
    result = derive(rules, Timeline(T0, "new", tuple(happenings)), T0 + now)
    return {(c.kind.value, c.cycle): c for c in result}


class TestFirstResponse:
    def test_a_public_staff_reply_fulfils_it(self) -> None:
        c = clocks(agent(30 * M), now=40 * M)[("first_response", 0)]
        assert (c.fulfilled_at, c.breached_at, c.due_at) == (T0 + 30 * M, None, None)
        assert c.used_seconds == 30 * M

    def test_internal_notes_and_automatic_messages_do_not_count(self) -> None:
        c = clocks(agent(10 * M, internal=True), system(20 * M), now=30 * M)[("first_response", 0)]
        assert c.fulfilled_at is None
        assert c.due_at == T0 + H
        assert c.warn_at == T0 + 48 * M  # 80 % of an hour

    def test_a_late_reply_fulfils_a_breached_clock(self) -> None:
        c = clocks(agent(90 * M), now=2 * H)[("first_response", 0)]
        assert (c.fulfilled_at, c.breached_at) == (T0 + 90 * M, T0 + H)

    def test_overdue_without_reply_is_breached_at_the_deadline(self) -> None:
        c = clocks(now=2 * H)[("first_response", 0)]
        assert (c.breached_at, c.due_at) == (T0 + H, T0 + H)

    def test_pending_pauses_and_open_resumes(self) -> None:
        c = clocks(status(20 * M, "pending"), status(50 * M, "open"), now=60 * M)[
            ("first_response", 0)
        ]
        assert c.used_seconds == 20 * M
        assert c.due_at == T0 + 50 * M + 40 * M

    def test_a_paused_clock_has_no_deadline(self) -> None:
        c = clocks(status(20 * M, "on_hold"), now=5 * H)[("first_response", 0)]
        assert (c.due_at, c.paused_at, c.breached_at) == (None, T0 + 20 * M, None)
        assert c.time_left(T0 + 5 * H) == 40 * M

    def test_solving_without_a_reply_stops_it(self) -> None:
        got = clocks(status(10 * M, "solved"), now=3 * H)
        first = got[("first_response", 0)]
        assert (first.stopped_at, first.fulfilled_at, first.breached_at) == (
            T0 + 10 * M,
            None,
            None,
        )
        assert got[("resolution", 0)].fulfilled_at == T0 + 10 * M


class TestNextResponse:
    def test_each_customer_message_after_a_reply_starts_a_cycle(self) -> None:
        got = clocks(
            customer(5 * M),  # before the first reply: first response still runs
            agent(10 * M),
            customer(20 * M),
            customer(25 * M),  # same cycle
            agent(40 * M),
            customer(50 * M),
            now=60 * M,
        )
        assert set(got) == {
            ("first_response", 0),
            ("resolution", 0),
            ("next_response", 1),
            ("next_response", 2),
        }
        assert got[("next_response", 1)].started_at == T0 + 20 * M
        assert got[("next_response", 1)].fulfilled_at == T0 + 40 * M
        assert got[("next_response", 2)].due_at == T0 + 50 * M + 2 * H

    def test_a_note_does_not_answer_the_customer(self) -> None:
        got = clocks(agent(10 * M), customer(20 * M), agent(30 * M, internal=True), now=40 * M)
        assert got[("next_response", 1)].fulfilled_at is None


class TestResolution:
    def test_reopen_resumes_without_counting_the_solved_time(self) -> None:
        got = clocks(
            agent(10 * M),
            status(1 * H, "solved"),
            status(5 * H, "open"),  # reopened
            customer(5 * H),
            now=6 * H,
        )
        res = got[("resolution", 0)]
        assert res.fulfilled_at is None
        assert res.used_seconds == 1 * H
        assert res.due_at == T0 + 5 * H + 7 * H
        assert got[("next_response", 1)].started_at == T0 + 5 * H

    def test_hold_time_is_not_working_time(self) -> None:
        got = clocks(status(1 * H, "on_hold"), status(4 * H, "open"), status(6 * H, "solved"))
        res = got[("resolution", 0)]
        assert (res.used_seconds, res.fulfilled_at) == (3 * H, T0 + 6 * H)


class TestBusinessTime:
    def test_first_response_over_a_weekend_in_business_time(self) -> None:
        berlin = Calendar("Europe/Berlin", tuple(Interval(d, 9 * H, 17 * H) for d in range(5)))
        rules = Rules(targets={ClockKind.first_response: Target(4 * H, berlin)})
        fri = epoch(datetime(2026, 3, 27, 15, tzinfo=ZoneInfo("Europe/Berlin")))
        got = derive(rules, Timeline(fri, "new", ()), fri)
        (first,) = got
        # Friday 15-17 (2 h), then Monday 9-11 after the DST change on Sunday.
        assert first.due_at == epoch(datetime(2026, 3, 30, 11, tzinfo=ZoneInfo("Europe/Berlin")))
        assert first.business


class TestAlarms:
    def test_warning_first_then_breach_then_nothing(self) -> None:
        (c,) = [v for k, v in clocks(now=0).items() if k[0] == "first_response"]
        assert next_alarm(c, warned=False, breach_noticed=False) == T0 + 48 * M
        assert next_alarm(c, warned=True, breach_noticed=False) == T0 + H
        assert next_alarm(c, warned=True, breach_noticed=True) is None

    def test_a_fulfilled_clock_that_breached_still_gets_its_breach_noticed(self) -> None:
        c = clocks(agent(90 * M), now=2 * H)[("first_response", 0)]
        assert next_alarm(c, warned=False, breach_noticed=False) == T0 + H

    def test_a_fulfilled_clock_in_time_never_alarms(self) -> None:
        c = clocks(agent(10 * M), now=2 * H)[("first_response", 0)]
        assert next_alarm(c, warned=False, breach_noticed=False) is None


class TestStoredRows:
    def test_a_derived_row_has_the_stored_columns_in_their_order(self) -> None:
        # derive_tickets compares a derived row with its stored one by position (fast), so the
        # row's keys must be lock_clocks' leading columns, in order.
        import uuid
        from types import SimpleNamespace

        from helpline.sla import repository, service

        clock = clocks(now=10 * M)[("first_response", 0)]
        row = service._row(uuid.uuid4(), SimpleNamespace(id=uuid.uuid4()), clock, None)  # type: ignore[arg-type]
        assert list(row) == list(repository.CLOCK_TYPES)

    def test_an_equal_row_is_not_written_and_a_moved_deadline_is(self) -> None:
        import uuid
        from types import SimpleNamespace

        from helpline.sla import service

        clock = clocks(now=10 * M)[("first_response", 0)]
        row = service._row(uuid.uuid4(), SimpleNamespace(id=uuid.uuid4()), clock, None)  # type: ignore[arg-type]
        stored = (*row.values(), None, None)  # + warned_at, breach_noticed_at
        assert service._same(row, stored)  # type: ignore[arg-type]
        moved = {**row, "due_at": None}
        assert not service._same(moved, stored)  # type: ignore[arg-type]
        assert not service._same(row, None)
