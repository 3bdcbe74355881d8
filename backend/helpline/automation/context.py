"""What reply and note templates see: the ticket, its customer and the acting agent."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.user import service as user_service


def _plain(value: Any) -> str:
    return str(getattr(value, "value", value))


async def template_context(
    session: AsyncSession, ticket: Any, agent_id: uuid.UUID | None
) -> dict[str, Any]:
    """``ticket`` is any object with the ticket's fields (a row or a TicketDetail)."""
    customer = await user_service.get_user(session, ticket.customer_id)
    agent = None
    if agent_id is not None and agent_id.int:
        agent = await user_service.get_user(session, agent_id)
    return {
        "ticket": {
            "id": str(ticket.id),
            "number": ticket.number,
            "title": ticket.title,
            "status": _plain(ticket.status),
            "priority": _plain(ticket.priority),
            "tags": list(ticket.tags),
            "created_at": ticket.created_at.isoformat(),
        },
        "customer": {"name": customer.name, "email": customer.email},
        "agent": {"name": agent.name if agent else "", "email": agent.email if agent else ""},
    }
