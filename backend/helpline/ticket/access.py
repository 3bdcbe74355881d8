"""Who may see which tickets, and what customers may see and set of them: the one access rule
used by REST, GraphQL, the cache keys, the history, the audit views and the change feed alike."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from helpline.auth.principal import Principal
from helpline.models.enums import TicketStatus

# What customers never see of a ticket (DESIGN §6): who it is assigned to and its priority —
# neither as fields (a created ticket, an update's changes) nor as history entries recording their
# changes — and internal notes.
# Tags and teams are the staff's filing (ADR 0014): their changes are staff-only too.
STAFF_ONLY_FIELDS = ("assigned_to", "priority", "team_id", "tags")
STAFF_ONLY_CHANGE_TYPES = ("assignee_changed", "priority_changed", "team_changed", "tags_changed")

# What customers may set: on create, none of these (a customer's ticket is always their own and
# starts as staff would have it); on update, only these.
CUSTOMER_UNSETTABLE_ON_CREATE = (
    "status",
    "priority",
    "assigned_to",
    "customer_id",
    "team_id",
    "tags",
)
CUSTOMER_UPDATABLE = frozenset({"title", "description", "status"})


def customer_status_choices(current: TicketStatus) -> tuple[TicketStatus, ...]:
    """The statuses a customer may give their ticket from ``current`` (itself included).

    A customer marks their ticket solved, and reopens a solved one; waiting states (pending,
    on hold) and closing are the agents' decisions, and closed is terminal for everyone."""
    if current is TicketStatus.closed:
        return (current,)
    if current is TicketStatus.solved:
        return (TicketStatus.open, TicketStatus.solved)
    return (current, TicketStatus.solved)


def public_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` (a ticket's fields, or the changes of an update) without the staff-only ones."""
    return {k: v for k, v in values.items() if k not in STAFF_ONLY_FIELDS}


@dataclass(frozen=True, slots=True)
class TicketVisibility:
    """Customers see only their own tickets; staff see all. Internal notes, assignment and
    priority are staff-only (``sees_internal``)."""

    customer_id: uuid.UUID | None
    sees_internal: bool

    def cache_key(self) -> str:
        return f"c:{self.customer_id}" if self.customer_id else "staff"


def visible_tickets(principal: Principal) -> TicketVisibility:
    if principal.is_staff:
        return TicketVisibility(customer_id=None, sees_internal=True)
    return TicketVisibility(customer_id=principal.user_id, sees_internal=False)
