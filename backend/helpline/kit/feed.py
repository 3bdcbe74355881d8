"""Reading the change feed as a consumer: the settled events after a position, and the position
kept in a consumer table under a row lock.

An event is *settled* once no transaction of this database with a smaller xid can still add one
(ADR 0012, migration 0009), so a consumer that moves past it never skips an event committed later.
The horizon is computed once per statement (an InitPlan)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.rows import AnyRow

HORIZON = "(SELECT helpline_feed_horizon(pg_current_snapshot()))"
Position = tuple[int, int]
"""(xid, event id): the feed's order."""


async def settled_events_after(
    session: AsyncSession,
    position: Position,
    limit: int,
    *,
    columns: str = "e.id, e.xid, e.type, e.ticket_id",
) -> list[AnyRow]:
    """Up to ``limit`` settled events after ``position``, in feed order."""
    result = await session.execute(
        text(
            # Only the constant HORIZON and the caller's constant column list are formatted in;
            # every value is a bound parameter.
            f"SELECT {columns} FROM events e WHERE e.xid < {HORIZON}"  # noqa: S608  # nosec B608
            " AND (e.xid, e.id) > (:xid, :id) ORDER BY e.xid, e.id LIMIT :limit"
        ),
        {"xid": position[0], "id": position[1], "limit": limit},
    )
    return list(result.all())


@dataclass(frozen=True, slots=True)
class FeedConsumer:
    """A consumer whose position is the row ``name`` of ``table`` (columns ``name``, ``xid``,
    ``event_id``, ``updated_at``). The position's row lock is the lease: it lasts the
    transaction, so one worker at a time reads, handles and moves past a batch, and the handling
    commits with the move or not at all.

    (The rules runner handles a batch over many transactions, so it keeps a timed lease instead:
    rule/repository.py.)"""

    table: str
    name: str

    async def take(self, session: AsyncSession, limit: int) -> list[AnyRow]:
        """Lock the position and read the next settled events after it; empty when caught up
        or when another worker holds the position now (SKIP LOCKED: nobody waits)."""
        row = (
            await session.execute(
                text(
                    f"SELECT xid, event_id FROM {self.table} WHERE name = :name"  # noqa: S608  # nosec B608
                    " FOR UPDATE SKIP LOCKED"
                ),
                {"name": self.name},
            )
        ).first()
        if row is None:
            return []
        return await settled_events_after(session, (int(row.xid), int(row.event_id)), limit)

    async def move_past(self, session: AsyncSession, event: AnyRow) -> None:
        """Move the position (locked by ``take`` in this transaction) past ``event``."""
        await session.execute(
            text(
                f"UPDATE {self.table} SET xid = :xid, event_id = :id, updated_at = now()"  # noqa: S608  # nosec B608
                " WHERE name = :name"
            ),
            {"xid": event.xid, "id": event.id, "name": self.name},
        )
