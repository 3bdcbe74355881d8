"""The cached ticket entry keeps the staff-only `sla` block beside the customer's body."""

from __future__ import annotations

import json
import uuid

import pytest

from helpline.http import parse_if_match
from helpline.ticket.access import TicketVisibility
from helpline.ticket.cache import TicketEntry

pytestmark = pytest.mark.unit

CUSTOMER = uuid.UUID("0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b12")
STAFF = TicketVisibility(customer_id=None, sees_internal=True)
OWNER = TicketVisibility(customer_id=CUSTOMER, sees_internal=False)
BODY = b'{"id":"x","title":"Printer | on fire","version":3,"metadata":{}}'
SLA = b'{"policy":"p","policy_name":"Gold | 24/7","first_response_due_at":null,"breached":[]}'


class TestTicketEntry:
    def test_staff_get_the_block_spliced_in_customers_never(self) -> None:
        entry = TicketEntry(version=3, customer_id=CUSTOMER, body=BODY, sla=SLA)
        staff = json.loads(entry.body_for(STAFF))
        assert staff["sla"]["policy_name"] == "Gold | 24/7"
        assert staff["title"] == "Printer | on fire"
        assert entry.body_for(OWNER) == BODY
        assert "sla" not in json.loads(entry.body_for(OWNER))

    def test_packs_and_parses_with_pipes_inside(self) -> None:
        entry = TicketEntry(version=3, customer_id=CUSTOMER, body=BODY, sla=SLA)
        back = TicketEntry.parse(entry.pack(b"epoch1"))
        assert (back.version, back.customer_id, back.body, back.sla) == (3, CUSTOMER, BODY, SLA)
        no_policy = TicketEntry(version=1, customer_id=CUSTOMER, body=BODY, sla=b"null")
        assert json.loads(TicketEntry.parse(no_policy.pack(b"e")).body_for(STAFF))["sla"] is None

    def test_the_staff_etag_follows_the_block_and_if_match_reads_the_version(self) -> None:
        entry = TicketEntry(version=3, customer_id=CUSTOMER, body=BODY, sla=SLA)
        moved = TicketEntry(
            version=3, customer_id=CUSTOMER, body=BODY, sla=SLA.replace(b"[]", b'["resolution"]')
        )
        assert entry.etag_for(OWNER) == '"3"'
        assert entry.etag_for(STAFF).startswith('"3.')
        assert entry.etag_for(STAFF) != moved.etag_for(STAFF)
        none = TicketEntry(version=3, customer_id=CUSTOMER, body=BODY, sla=b"null")
        assert none.etag_for(STAFF) == '"3"'
        assert parse_if_match(entry.etag_for(STAFF)) == 3
        assert parse_if_match('W/"3"') == 3
