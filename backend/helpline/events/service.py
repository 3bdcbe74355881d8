"""The change feed under the resource visibility rules, and its retention purge."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.principal import Principal
from helpline.errors import InvalidCursorError, ValidationFailed
from helpline.events import repository
from helpline.events.schemas import EventRead
from helpline.kit.cursor import InvalidCursor, decode_cursor, encode_cursor
from helpline.models.event import EVENT_TYPES
from helpline.ticket.access import public_fields, visible_tickets

FEED_CURSOR = "events"


@dataclass(frozen=True, slots=True)
class FeedPage:
    events: list[EventRead]
    next_cursor: str | None
    has_more: bool


def parse_types(raw: str | None) -> tuple[str, ...]:
    """A comma list of event types; an unknown one is a 422."""
    types = tuple(sorted({t.strip() for t in (raw or "").split(",") if t.strip()}))
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise ValidationFailed(
            f"Unknown event type(s): {', '.join(unknown)}.",
            errors=[{"loc": ["query", "types"], "msg": f"one of {', '.join(EVENT_TYPES)}"}],
        )
    return types


def decode_position(secret: bytes, cursor: str) -> tuple[int, int]:
    try:
        xid, ident = decode_cursor(secret, FEED_CURSOR, cursor)
        return int(xid), int(ident)
    except InvalidCursor as exc:
        raise InvalidCursorError(str(exc)) from exc
    except (ValueError, TypeError) as exc:
        raise InvalidCursorError("cursor does not hold a feed position") from exc


def _public_data(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    if event_type == "ticket.created":
        return public_fields(data)
    if event_type == "ticket.updated":
        return {**data, "changes": public_fields(data["changes"])}
    return data


async def read_feed(
    session: AsyncSession,
    principal: Principal,
    *,
    after: str | None,
    types: tuple[str, ...],
    ticket_id: uuid.UUID | None,
    limit: int,
    cursor_secret: bytes,
) -> FeedPage:
    """Events after ``after`` that ``principal`` may see, in feed order."""
    position = decode_position(cursor_secret, after) if after else None
    visibility = visible_tickets(principal)
    rows = await repository.list_events(
        session,
        after=position,
        types=types,
        ticket_id=ticket_id,
        customer_id=visibility.customer_id,
        limit=limit + 1,
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    events = []
    for row in rows:
        data = row.data if visibility.sees_internal else _public_data(row.type, row.data)
        events.append(
            EventRead(
                id=row.id,
                type=row.type,
                occurred_at=row.occurred_at,
                ticket_id=row.ticket_id,
                actor_id=row.actor_id,
                data=data,
                cursor=encode_cursor(cursor_secret, FEED_CURSOR, [row.xid, row.id]),
            )
        )
    next_cursor = events[-1].cursor if events else after
    return FeedPage(events=events, next_cursor=next_cursor, has_more=has_more)


async def current_position(session: AsyncSession, cursor_secret: bytes) -> str:
    """A cursor for "from now on": reading after it returns exactly the events that were not
    visible yet when it was taken (position ``(horizon, 0)``, ADR 0012)."""
    horizon = await repository.feed_horizon(session)
    return encode_cursor(cursor_secret, FEED_CURSOR, [horizon, 0])


async def purge_expired(
    session: AsyncSession, now: datetime, retention_days: int, batch: int = 10_000
) -> int:
    """Delete events (and their deliveries) older than the retention, in batches."""
    before = now - timedelta(days=retention_days)
    total = 0
    while True:
        deleted = await repository.purge_events(session, before, batch)
        total += deleted
        if deleted < batch:
            return total
