"""PATCH bodies refuse an explicit null per field, except where null is a value."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from helpline.rule.schemas import RuleUpdate
from helpline.sla.schemas import CalendarUpdate
from helpline.ticket.schemas import TicketUpdate

pytestmark = pytest.mark.unit


def errors(model: type, body: dict) -> list[tuple[tuple, str]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return [(e["loc"], e["type"]) for e in caught.value.errors()]


def test_each_null_field_is_named() -> None:
    assert errors(TicketUpdate, {"status": None, "tags": None, "title": "ok"}) == [
        (("status",), "null"),
        (("tags",), "null"),
    ]
    assert errors(CalendarUpdate, {"holidays": None}) == [(("holidays",), "null")]
    assert errors(RuleUpdate, {"conditions": None}) == [(("conditions",), "null")]


def test_nullable_fields_take_null_as_a_value() -> None:
    update = TicketUpdate.model_validate({"assigned_to": None, "team_id": None})
    assert update.model_fields_set == {"assigned_to", "team_id"}
    assert update.assigned_to is None
    assert update.team_id is None


def test_absent_fields_stay_not_given() -> None:
    update = TicketUpdate.model_validate({"title": "New"})
    assert update.model_fields_set == {"title"}
