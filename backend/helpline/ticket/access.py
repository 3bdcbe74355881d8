"""Who may see which tickets: the one access rule used by REST, GraphQL and cache keys alike."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from helpline.auth.principal import Principal


@dataclass(frozen=True, slots=True)
class TicketVisibility:
    """Customers see only their own tickets; staff see all. Internal notes are staff-only."""

    customer_id: uuid.UUID | None
    sees_internal: bool

    def cache_key(self) -> str:
        return f"c:{self.customer_id}" if self.customer_id else "staff"


def visible_tickets(principal: Principal) -> TicketVisibility:
    if principal.is_staff:
        return TicketVisibility(customer_id=None, sees_internal=True)
    return TicketVisibility(customer_id=principal.user_id, sees_internal=False)
