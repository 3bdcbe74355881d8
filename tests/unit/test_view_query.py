"""A saved view's query is the ticket list's own parameters (issue 23): the same names, the same
rules, and it becomes the same filters the list would parse."""

from __future__ import annotations

import uuid

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from pydantic import ValidationError

from helpline.models.enums import TicketStatus
from helpline.ticket.endpoints import list_tickets
from helpline.ticket.schemas import SearchScope, TicketFilters
from helpline.view.schemas import VIEW_QUERY_MAX_BYTES, ViewQuery, query_size

pytestmark = pytest.mark.unit


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def test_the_keys_are_the_ticket_lists_query_parameters():
    listed = _query_names(get_dependant(path="/api/v1/tickets", call=list_tickets))
    # limit and cursor page through a list; they are not part of what a view shows.
    assert listed - {"limit", "cursor"} == set(ViewQuery.model_fields) - {"metadata"}
    assert "metadata" in ViewQuery.model_fields  # the list's `metadata.<key>` parameters


def test_a_query_becomes_the_lists_filters_normalized():
    team = uuid.uuid4()
    query = ViewQuery.model_validate(
        {
            "status": ["open", "new", "open"],
            "tag": ["vip", "billing", "vip"],
            "team_id": str(team),
            "q": "  refund ",
            "metadata": {"plan": "gold", "a.b": "1"},
        }
    )
    assert query.stored() == {
        "status": ["new", "open"],
        "team_id": str(team),
        "tag": ["billing", "vip"],
        "q": "refund",
        "metadata": {"plan": "gold", "a.b": "1"},
    }
    assert query.to_filters() == TicketFilters(
        status=(TicketStatus.new, TicketStatus.open),
        team_id=team,
        tags=("billing", "vip"),
        q="refund",
        q_scope=SearchScope.tickets,
        metadata=(("a.b", "1"), ("plan", "gold")),
    )
    assert ViewQuery().stored() == {}


def test_the_stored_size_is_what_postgresql_prints():
    query = {"q": "é", "tag": ["a", "b"]}
    assert query_size(query) == len('{"q": "é", "tag": ["a", "b"]}'.encode())
    with pytest.raises(ValidationError, match=f"{VIEW_QUERY_MAX_BYTES} bytes"):
        ViewQuery.model_validate({"metadata": {f"k{i}": "x" * 1024 for i in range(5)}})
