"""The one rule of what customers may see and set of a ticket (ticket/access.py), and that the
history, audit and feed queries are built from it rather than from copies."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from helpline.auth.permissions import ROLE_SCOPES
from helpline.auth.principal import Principal
from helpline.events import repository as events_repository
from helpline.history import repository as history_repository
from helpline.models import TicketHistory
from helpline.models.enums import Role
from helpline.ticket.access import (
    STAFF_ONLY_CHANGE_TYPES,
    STAFF_ONLY_FIELDS,
    public_fields,
    visible_tickets,
)

pytestmark = pytest.mark.unit


def principal(role: Role) -> Principal:
    return Principal(user_id=uuid.uuid4(), role=role, scopes=ROLE_SCOPES[role])


class TestTicketAccess:
    def test_customers_see_their_own_tickets_without_internal_parts(self):
        customer = principal(Role.customer)
        visibility = visible_tickets(customer)
        assert visibility.customer_id == customer.user_id
        assert not visibility.sees_internal
        assert visible_tickets(principal(Role.agent)).sees_internal

    def test_public_fields_drop_assignment_and_priority_only(self):
        values = {"title": "t", "status": "open", "assigned_to": "x", "priority": "high"}
        assert public_fields(values) == {"title": "t", "status": "open"}
        assert set(STAFF_ONLY_FIELDS) == {"assigned_to", "priority"}

    def test_the_feed_hides_updates_of_exactly_the_staff_only_fields(self):
        hidden = events_repository.CUSTOMER_HIDDEN
        assert "'{" + ",".join(STAFF_ONLY_FIELDS) + "}'::text[]" in hidden

    def test_the_public_history_leaves_out_the_staff_only_change_types(self):
        stmt = history_repository._public_history(select(TicketHistory))
        sql = str(
            stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
        )
        for change_type in STAFF_ONLY_CHANGE_TYPES:
            assert f"'{change_type}'" in sql
