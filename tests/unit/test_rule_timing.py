"""Time conditions of rules: validation, durations in wall and business time, when a time rule
starts to match, and the basis that makes a timer fire once (pure functions, no I/O)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from helpline.automation import timing
from helpline.automation.conditions import Conditions, due_at, matches
from helpline.sla.business_time import Calendar, Interval

CAL = uuid.UUID("00000000-0000-7000-8000-0000000000ca")
# Monday-Friday 09:00-17:00 UTC, Wednesday 2026-12-09 a holiday in the second calendar.
OFFICE = Calendar("UTC", tuple(Interval(d, 9 * 3600, 17 * 3600) for d in range(5)))
HOLIDAY = Calendar("UTC", OFFICE.intervals, holidays=frozenset({date(2026, 12, 9)}))
FRIDAY_3PM = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


def pending_for(amount: int, unit: str, **extra: object) -> Conditions:
    value = {"amount": amount, "unit": unit, **extra}
    return Conditions.model_validate(
        {
            "all": [
                {"field": "status", "op": "eq", "value": "pending"},
                {"field": "time.status_changed", "op": "older_than", "value": value},
            ]
        }
    )


def facts(start: datetime, now: datetime, status: str = "pending", **calendars: Calendar):
    return {
        "status": status,
        "tags": [],
        "metadata": {},
        "event": "time",
        "changes": {},
        "time.status_changed": start,
        "time.agent_reply": None,
        "now": now,
        "calendars": {CAL: calendars.get("cal", OFFICE)},
    }


class TestDurations:
    def test_business_days_keep_the_time_of_day_and_skip_weekends(self):
        due = timing.add_business_days(OFFICE, FRIDAY_3PM, 3)
        assert due == datetime(2026, 12, 9, 15, 0, tzinfo=UTC)  # Wednesday

    def test_business_days_skip_holidays(self):
        due = timing.add_business_days(HOLIDAY, FRIDAY_3PM, 3)
        assert due == datetime(2026, 12, 10, 15, 0, tzinfo=UTC)  # Thursday

    def test_business_hours_count_opening_hours_only(self):
        d = timing.Duration(amount=4, unit="business_hours", calendar_id=CAL)
        # 2 h on Friday (15-17), 2 h on Monday (9-11)
        assert timing.add(FRIDAY_3PM, d, {CAL: OFFICE}) == datetime(2026, 12, 7, 11, tzinfo=UTC)

    def test_wall_units(self):
        d = timing.Duration(amount=48, unit="hours")
        assert timing.add(FRIDAY_3PM, d, {}) == FRIDAY_3PM + timedelta(hours=48)


class TestDueAt:
    def test_a_time_rule_is_due_when_its_clock_has_run_long_enough(self):
        conditions = pending_for(3, "business_days", calendar_id=str(CAL))
        wednesday = datetime(2026, 12, 9, 15, 0, tzinfo=UTC)
        assert due_at(conditions, facts(FRIDAY_3PM, FRIDAY_3PM)) == wednesday
        before = facts(FRIDAY_3PM, wednesday - timedelta(seconds=1))
        assert not matches(conditions, before)
        assert matches(conditions, facts(FRIDAY_3PM, wednesday))

    def test_not_due_while_its_other_conditions_do_not_hold(self):
        conditions = pending_for(30, "minutes")
        assert due_at(conditions, facts(FRIDAY_3PM, FRIDAY_3PM, status="open")) is None

    def test_a_clock_that_is_not_running_is_never_due(self):
        conditions = Conditions.model_validate(
            {
                "all": [
                    {
                        "field": "time.agent_reply",
                        "op": "older_than",
                        "value": {"amount": 48, "unit": "hours"},
                    }
                ]
            }
        )
        assert due_at(conditions, facts(FRIDAY_3PM, FRIDAY_3PM)) is None

    def test_a_missing_calendar_is_never_due(self):
        conditions = pending_for(1, "business_hours", calendar_id=str(uuid.uuid4()))
        assert due_at(conditions, facts(FRIDAY_3PM, FRIDAY_3PM)) is None

    def test_the_basis_changes_with_the_start_instant(self):
        one = timing.basis_of(["time.status_changed"], facts(FRIDAY_3PM, FRIDAY_3PM))
        later = FRIDAY_3PM + timedelta(days=1)
        two = timing.basis_of(["time.status_changed"], facts(later, later))
        assert one != two
        assert one == f"status_changed={FRIDAY_3PM.isoformat()}"


class TestValidation:
    @pytest.mark.parametrize(
        "conditions",
        [
            # business units need a calendar
            {
                "all": [
                    {
                        "field": "time.created",
                        "op": "older_than",
                        "value": {"amount": 1, "unit": "business_hours"},
                    }
                ]
            },
            # a calendar only for business units
            {
                "all": [
                    {
                        "field": "time.created",
                        "op": "older_than",
                        "value": {"amount": 1, "unit": "hours", "calendar_id": str(CAL)},
                    }
                ]
            },
            # time fields take older_than, and older_than only them
            {"all": [{"field": "time.created", "op": "eq", "value": "x"}]},
            {
                "all": [
                    {"field": "status", "op": "older_than", "value": {"amount": 1, "unit": "hours"}}
                ]
            },
            # time conditions only in all
            {
                "any": [
                    {
                        "field": "time.created",
                        "op": "older_than",
                        "value": {"amount": 1, "unit": "hours"},
                    }
                ]
            },
            # a time rule does not run from events
            {
                "all": [
                    {"field": "event", "op": "eq", "value": "ticket.created"},
                    {
                        "field": "time.created",
                        "op": "older_than",
                        "value": {"amount": 1, "unit": "hours"},
                    },
                ]
            },
            # an unknown clock, an unknown unit, a zero amount
            {
                "all": [
                    {
                        "field": "time.closed",
                        "op": "older_than",
                        "value": {"amount": 1, "unit": "hours"},
                    }
                ]
            },
            {
                "all": [
                    {
                        "field": "time.created",
                        "op": "older_than",
                        "value": {"amount": 1, "unit": "weeks"},
                    }
                ]
            },
            {
                "all": [
                    {
                        "field": "time.created",
                        "op": "older_than",
                        "value": {"amount": 0, "unit": "hours"},
                    }
                ]
            },
        ],
    )
    def test_malformed_time_conditions_are_refused(self, conditions):
        with pytest.raises(ValidationError):
            Conditions.model_validate(conditions)

    def test_a_valid_time_rule(self):
        conditions = pending_for(3, "business_days", calendar_id=str(CAL))
        assert [c.field for c in conditions.timed] == ["time.status_changed"]
        assert conditions.timed[0].value == {
            "amount": 3,
            "unit": "business_days",
            "calendar_id": str(CAL),
        }
