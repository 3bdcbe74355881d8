"""SQL of the change feed: visibility-safe keyset reads and the retention purge."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.feed import HORIZON
from helpline.kit.rows import AnyRow
from helpline.ticket.access import STAFF_ONLY_FIELDS

# An event is shown only when it is settled (kit/feed.py) or it is the reader's own: then no
# event can later appear before a position a reader has passed. The horizon comes from this
# database's writers only: a long transaction in another database on the server does not hold
# the feed (migration 0009, ADR 0012).
VISIBLE = f"(e.xid < {HORIZON} OR e.xid = (pg_current_xact_id_if_assigned()::text)::bigint)"
# Customers never see internal notes nor updates that changed only staff-only fields
# (ticket/access.py, as in the history).
CUSTOMER_HIDDEN = (
    "NOT e.internal AND NOT (e.type = 'ticket.updated'"
    f" AND (e.data->'changes') - '{{{','.join(STAFF_ONLY_FIELDS)}}}'::text[] = '{{}}'::jsonb)"
)
COLUMNS = "e.id, e.xid, e.occurred_at, e.type, e.ticket_id, e.internal, e.actor_id, e.data"


async def list_events(
    session: AsyncSession,
    *,
    after: tuple[int, int] | None,
    types: tuple[str, ...],
    ticket_id: uuid.UUID | None,
    customer_id: uuid.UUID | None,
    limit: int,
) -> list[AnyRow]:
    """Up to ``limit`` visible events after the position ``after``, oldest first."""
    where = [VISIBLE]
    params: dict[str, object] = {"limit": limit}
    join = ""
    if after is not None:
        where.append("(e.xid, e.id) > (:after_xid, :after_id)")
        params["after_xid"], params["after_id"] = after
    if types:
        where.append("e.type = ANY(:types)")
        params["types"] = list(types)
    if ticket_id is not None:
        where.append("e.ticket_id = :ticket_id")
        params["ticket_id"] = ticket_id
    if customer_id is not None:
        join = "JOIN tickets t ON t.id = e.ticket_id AND t.customer_id = :customer_id"
        where.append(CUSTOMER_HIDDEN)
        params["customer_id"] = customer_id
    sql = (
        # Only the constant fragments above are joined; every value is a bound parameter.
        f"SELECT {COLUMNS} FROM events e {join} WHERE {' AND '.join(where)}"  # noqa: S608  # nosec B608
        " ORDER BY e.xid, e.id LIMIT :limit"
    )
    return list((await session.execute(text(sql), params)).all())


async def feed_horizon(session: AsyncSession) -> int:
    """The horizon now: every event with a smaller xid is already visible (or never will be),
    every event that becomes visible from now on has an xid at or above it (ADR 0012)."""
    return int(await session.scalar(text(f"SELECT {HORIZON}")))  # nosec B608


async def purge_events(session: AsyncSession, before: datetime, batch: int) -> int:
    """Delete up to ``batch`` events older than ``before`` (deliveries go with them)."""
    result = await session.execute(
        text(
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE occurred_at < :before"
            " ORDER BY id LIMIT :batch)"
        ),
        {"before": before, "batch": batch},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
