"""Rule conditions: each operator, and all/any mixes (pure functions, no I/O)."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from helpline.automation.conditions import (
    Condition,
    Conditions,
    compile_condition,
    compile_conditions,
    holds,
    matches,
)
from helpline.rule.runner import cause_of, event_kind

FACTS = {
    "status": "open",
    "priority": "high",
    "assigned_to": None,
    "team_id": "t1",
    "title": "Printer on fire",
    "number": 42,
    "tags": ["printer", "vip"],
    "metadata": {"plan": "pro", "seats": 10},
    "event": "ticket.updated",
    "changes": {"status": ["new", "open"]},
}


def c(field, op, value=None) -> Condition:
    return Condition(field=field, op=op, value=value)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (c("status", "eq", "open"), True),
        (c("status", "eq", "new"), False),
        (c("status", "ne", "new"), True),
        (c("assigned_to", "eq", None), True),
        (c("priority", "in", ["high", "urgent"]), True),
        (c("priority", "not_in", ["high", "urgent"]), False),
        (c("title", "contains", "FIRE"), True),
        (c("title", "not_contains", "water"), True),
        (c("tags", "includes", "vip"), True),
        (c("tags", "excludes", "vip"), False),
        (c("changed", "includes", "status"), True),
        (c("changed", "includes", "priority"), False),
        (c("metadata.plan", "eq", "pro"), True),
        (c("metadata.seats", "eq", 10), True),
        (c("metadata.seats", "eq", "10"), True),
        (c("metadata.plan", "exists"), True),
        (c("metadata.region", "not_exists"), True),
        (c("assigned_to", "exists"), False),
        (c("status", "changed"), True),
        (c("priority", "changed"), False),
        (c("status", "changed_to", "open"), True),
        (c("status", "changed_to", "solved"), False),
        (c("event", "eq", "ticket.updated"), True),
        (c("event", "in", ["ticket.created", "sla.breached"]), False),
        (c("number", "eq", 42), True),
    ],
)
def test_each_operator(condition, expected):
    assert holds(condition, FACTS) is expected


@pytest.mark.parametrize(
    "facts",
    [
        FACTS,
        {**FACTS, "status": None, "tags": None, "metadata": {}, "changes": {}},
        {**FACTS, "assigned_to": uuid.UUID(int=7), "number": 7, "title": None},
    ],
)
@pytest.mark.parametrize(
    "condition",
    [
        c("status", "eq", "open"),
        c("number", "eq", "42"),
        c("assigned_to", "eq", str(uuid.UUID(int=7))),
        c("assigned_to", "in", [str(uuid.UUID(int=7)), "x"]),
        c("status", "in", ["open", "new"]),
        c("status", "not_in", ["open", "new"]),
        c("metadata.plan", "eq", "pro"),
        c("metadata.seats", "in", ["10"]),
        c("tags", "includes", "vip"),
        c("tags", "excludes", "vip"),
        c("changed", "includes", "status"),
        c("title", "contains", "FIRE"),
        c("title", "not_contains", "fire"),
        c("priority", "changed"),
        c("status", "exists"),
    ],
)
def test_compiled_conditions_agree_with_the_interpreter(condition, facts):
    assert compile_condition(condition)(facts) == holds(condition, facts)
    both = Conditions(all=[condition], any=[c("status", "eq", "open"), condition])
    assert compile_conditions(both)(facts) == matches(both, facts)


class TestAllAny:
    def test_all_must_hold(self):
        assert matches(
            Conditions(all=[c("status", "eq", "open"), c("tags", "includes", "vip")]), FACTS
        )
        assert not matches(
            Conditions(all=[c("status", "eq", "open"), c("tags", "includes", "x")]), FACTS
        )

    def test_one_of_any_is_enough(self):
        assert matches(
            Conditions(any=[c("status", "eq", "new"), c("tags", "includes", "vip")]), FACTS
        )
        assert not matches(
            Conditions(any=[c("status", "eq", "new"), c("tags", "includes", "x")]), FACTS
        )

    def test_all_and_any_together(self):
        both = Conditions(
            all=[c("event", "eq", "ticket.updated")],
            any=[c("metadata.plan", "eq", "enterprise"), c("priority", "eq", "high")],
        )
        assert matches(both, FACTS)
        assert not matches(both, {**FACTS, "event": "ticket.created"})
        assert not matches(both, {**FACTS, "priority": "low"})

    def test_empty_conditions_match_everything(self):
        assert matches(Conditions(), FACTS)


class TestValidation:
    def test_unknown_field_operator_and_event_are_refused(self):
        for bad in (
            {"field": "password", "op": "eq", "value": 1},
            {"field": "status", "op": "regex", "value": ".*"},
            {"field": "event", "op": "eq", "value": "ticket.exploded"},
            {"field": "status", "op": "in", "value": "open"},
            {"field": "status", "op": "includes", "value": "x"},
        ):
            with pytest.raises(ValidationError):
                Condition.model_validate(bad)

    def test_sla_events_are_accepted_by_name(self):
        Condition(field="event", op="in", value=["sla.warning", "sla.breached"])


class TestEvents:
    def test_message_kinds_split_by_author(self):
        class E:
            type = "message.created"
            internal = False
            data = {"sender_type": "customer", "is_internal": False}

        assert event_kind(E) == "message.customer"
        E.data = {"sender_type": "agent", "is_internal": True}
        assert event_kind(E) == "message.internal"

    def test_the_cause_of_a_rule_change_is_read_from_its_request_id(self):
        class E:
            request_id = "rule:0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b20:2:77"

        rule, depth = cause_of(E)
        assert str(rule) == "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b20"
        assert depth == 2
        E.request_id = "req-abc"
        assert cause_of(E) == (None, -1)
