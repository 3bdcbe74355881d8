"""Ticket metadata: key format, size and count limits; changes count as ticket changes.

The key rule lives here, once, for REST and GraphQL alike (the REST path pattern only documents
it in OpenAPI). ``fullmatch``: with ``re.match`` a ``$`` would also accept a trailing newline.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.principal import Principal
from helpline.db import UnitOfWork
from helpline.errors import (
    MetadataKeyNotFound,
    MetadataLimitReached,
    PermissionDenied,
    ValidationFailed,
)
from helpline.metadata import repository
from helpline.models.ticket_metadata import (
    METADATA_KEY_PATTERN,
    METADATA_MAX_KEYS,
    METADATA_VALUE_MAX_BYTES,
)
from helpline.ticket import service as ticket_service
from helpline.ticket.access import visible_tickets

METADATA_KEY_RE = re.compile(METADATA_KEY_PATTERN)


def check_key(key: str) -> str:
    """The key, or 422 unless it matches ``METADATA_KEY_PATTERN`` exactly."""
    if not METADATA_KEY_RE.fullmatch(key):
        raise ValidationFailed(
            "Invalid metadata key.",
            errors=[{"loc": ["key"], "msg": METADATA_KEY_PATTERN, "type": "pattern"}],
        )
    return key


def _check_value(value: Any) -> None:
    if value is None:
        raise ValidationFailed(
            "value is required; use DELETE to remove a key.",
            errors=[{"loc": ["body", "value"], "msg": "may not be null", "type": "null"}],
        )
    size = len(json.dumps(value, separators=(", ", ": "), ensure_ascii=False).encode())
    if size > METADATA_VALUE_MAX_BYTES:
        raise ValidationFailed(
            f"value is {size} bytes serialized; the limit is {METADATA_VALUE_MAX_BYTES}.",
            errors=[{"loc": ["body", "value"], "msg": "too large", "type": "too_large"}],
        )


def _staff_only(principal: Principal) -> None:
    if principal.is_customer:
        raise PermissionDenied("Customers cannot change ticket metadata.")


async def get_metadata(
    uow: UnitOfWork, principal: Principal, ticket_id: uuid.UUID
) -> dict[str, Any]:
    """The key → value map of a visible ticket."""
    ticket = await ticket_service.get_ticket(uow, principal, ticket_id)
    return dict(ticket.metadata)


async def set_metadata(
    uow: UnitOfWork, principal: Principal, ticket_id: uuid.UUID, key: str, value: Any
) -> None:
    """Create or replace one key (staff only); at most 100 keys per ticket."""
    session = uow.session
    _staff_only(principal)
    check_key(key)
    _check_value(value)
    await ticket_service.lock_ticket_for_change(session, principal, ticket_id)
    if await repository.count_other_keys(session, ticket_id, key) >= METADATA_MAX_KEYS:
        raise MetadataLimitReached(f"A ticket has at most {METADATA_MAX_KEYS} metadata keys.")
    if await repository.upsert(session, ticket_id, key, value):
        await ticket_service.touch_ticket(uow, ticket_id)


async def remove_metadata(
    uow: UnitOfWork, principal: Principal, ticket_id: uuid.UUID, key: str
) -> None:
    """Remove one key (staff only); 404 when absent."""
    session = uow.session
    _staff_only(principal)
    check_key(key)
    # Locks, checks (404 unseen, 409 closed) and touches the ticket in one statement; a missing
    # key's 404 rolls the touch back with the rest.
    await ticket_service.change_open_ticket(uow, principal, ticket_id)
    if not await repository.remove(session, ticket_id, key):
        raise MetadataKeyNotFound()


async def metadata_of_tickets(
    session: AsyncSession, principal: Principal, ticket_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """The key → value maps of many visible tickets in one query (GraphQL DataLoaders)."""
    return await repository.get_maps(session, ticket_ids, visible_tickets(principal).customer_id)
