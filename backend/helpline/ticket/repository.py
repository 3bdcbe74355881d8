"""All SQL for tickets. Returns rows or None; the service raises typed errors."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.rows import AnyRow
from helpline.models import CacheInvalidation, Ticket, TicketMetadata
from helpline.ticket.access import TicketVisibility
from helpline.ticket.schemas import TicketFilters, TicketSort

COLUMNS = (
    Ticket.id,
    Ticket.title,
    Ticket.description,
    Ticket.status,
    Ticket.priority,
    Ticket.created_at,
    Ticket.updated_at,
    Ticket.assigned_to,
    Ticket.customer_id,
    Ticket.version,
)

ENGLISH: ColumnElement[Any] = literal_column("'english'::regconfig")

METADATA_OBJECT = (
    select(
        func.coalesce(
            func.jsonb_object_agg(TicketMetadata.key, TicketMetadata.value), text("'{}'::jsonb")
        )
    )
    .where(TicketMetadata.ticket_id == Ticket.id)
    .scalar_subquery()
    .label("metadata")
)


def _visible(visibility: TicketVisibility) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = Ticket.deleted_at.is_(None)
    if visibility.customer_id is not None:
        condition = and_(condition, Ticket.customer_id == visibility.customer_id)
    return condition


async def insert_ticket(session: AsyncSession, values: dict[str, Any]) -> AnyRow:
    stmt = insert(Ticket).values(**values).returning(*COLUMNS)
    return (await session.execute(stmt)).one()


async def get_ticket(
    session: AsyncSession, ticket_id: uuid.UUID, visibility: TicketVisibility
) -> AnyRow | None:
    stmt = select(*COLUMNS, METADATA_OBJECT).where(Ticket.id == ticket_id, _visible(visibility))
    return (await session.execute(stmt)).first()


async def lock_ticket(
    session: AsyncSession, ticket_id: uuid.UUID, visibility: TicketVisibility
) -> AnyRow | None:
    """Lock a visible ticket row for the rest of the transaction (serializes writers)."""
    stmt = select(*COLUMNS).where(Ticket.id == ticket_id, _visible(visibility)).with_for_update()
    return (await session.execute(stmt)).first()


async def update_ticket(
    session: AsyncSession, ticket_id: uuid.UUID, values: dict[str, Any]
) -> AnyRow:
    """Apply changes; the trigger bumps version and updated_at when something changed."""
    stmt = update(Ticket).where(Ticket.id == ticket_id).values(**values).returning(*COLUMNS)
    return (await session.execute(stmt)).one()


async def touch_ticket(session: AsyncSession, ticket_id: uuid.UUID) -> uuid.UUID | None:
    """Mark a change of the ticket's metadata or conversation (bumps version and updated_at).

    Returns the ticket's customer (None if there is no such ticket)."""
    stmt = (
        update(Ticket)
        .where(Ticket.id == ticket_id)
        .values(updated_at=func.clock_timestamp())
        .returning(Ticket.customer_id)
    )
    customer_id: uuid.UUID | None = (await session.execute(stmt)).scalar_one_or_none()
    return customer_id


async def soft_delete_ticket(session: AsyncSession, ticket_id: uuid.UUID) -> None:
    await session.execute(
        update(Ticket).where(Ticket.id == ticket_id).values(deleted_at=func.clock_timestamp())
    )


def _metadata_candidates(raw: str) -> list[Any]:
    """`metadata.k=v` matches the JSON string "v", and also the JSON scalar v if v parses."""
    candidates: list[Any] = [raw]
    try:
        parsed = json.loads(raw)
    except ValueError:
        return candidates
    if not isinstance(parsed, dict | list) and parsed != raw:
        candidates.append(parsed)
    return candidates


def _filters(filters: TicketFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.status:
        conditions.append(Ticket.status.in_([s.value for s in filters.status]))
    if filters.priority is not None:
        conditions.append(Ticket.priority == filters.priority.value)
    if filters.assigned_to is not None:
        conditions.append(Ticket.assigned_to == filters.assigned_to)
    if filters.customer_id is not None:
        conditions.append(Ticket.customer_id == filters.customer_id)
    if filters.created_after is not None:
        conditions.append(Ticket.created_at >= filters.created_after)
    if filters.created_before is not None:
        conditions.append(Ticket.created_at < filters.created_before)
    if filters.updated_since is not None:
        conditions.append(Ticket.updated_at >= filters.updated_since)
    if filters.q:
        query = func.websearch_to_tsquery(ENGLISH, filters.q)
        conditions.append(Ticket.search_vector.op("@@")(query))
    for key, raw in filters.metadata:
        values = [literal(json.dumps(v)).cast(JSONB) for v in _metadata_candidates(raw)]
        conditions.append(
            exists().where(
                TicketMetadata.ticket_id == Ticket.id,
                TicketMetadata.key == key,
                TicketMetadata.value.in_(values),
            )
        )
    return conditions


SORT_COLUMNS = {
    TicketSort.updated_desc: (Ticket.updated_at, True),
    TicketSort.updated_asc: (Ticket.updated_at, False),
    TicketSort.created_desc: (Ticket.created_at, True),
    TicketSort.created_asc: (Ticket.created_at, False),
}


async def list_tickets(
    session: AsyncSession,
    visibility: TicketVisibility,
    filters: TicketFilters,
    sort: TicketSort,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[AnyRow]:
    """One keyset page (limit + 1 rows, so the caller knows whether more follow)."""
    stmt = list_statement(visibility, filters, sort, limit, after)
    return list((await session.execute(stmt)).all())


def list_statement(
    visibility: TicketVisibility,
    filters: TicketFilters,
    sort: TicketSort,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> Select[*tuple[Any, ...]]:
    """The keyset page query (separate so its plan can be inspected)."""
    column, descending = SORT_COLUMNS[sort]
    stmt = select(*COLUMNS).where(_visible(visibility), *_filters(filters))
    if after is not None:
        key = tuple_(column, Ticket.id)
        bound = tuple_(literal(after[0]), literal(after[1]))
        stmt = stmt.where(key < bound if descending else key > bound)
    if descending:
        stmt = stmt.order_by(column.desc(), Ticket.id.desc())
    else:
        stmt = stmt.order_by(column.asc(), Ticket.id.asc())
    return stmt.limit(limit + 1)


# -- cache invalidation outbox ---------------------------------------------------------------
async def record_lost_invalidations(
    session: AsyncSession, tickets: dict[uuid.UUID, uuid.UUID | None]
) -> None:
    await session.execute(
        insert(CacheInvalidation),
        [{"ticket_id": t, "customer_id": c} for t, c in tickets.items()],
    )


CLAIM_LOST_INVALIDATIONS = text(
    """
    DELETE FROM cache_invalidations
     WHERE id IN (SELECT id FROM cache_invalidations ORDER BY id
                  FOR UPDATE SKIP LOCKED LIMIT :limit)
    RETURNING ticket_id, customer_id
    """
)


async def claim_lost_invalidations(
    session: AsyncSession, limit: int
) -> dict[uuid.UUID, uuid.UUID | None]:
    """Take up to ``limit`` undelivered invalidations (gone once the transaction commits)."""
    rows = (await session.execute(CLAIM_LOST_INVALIDATIONS, {"limit": limit})).all()
    claimed: dict[uuid.UUID, uuid.UUID | None] = {}
    for ticket_id, customer_id in rows:
        claimed[ticket_id] = customer_id or claimed.get(ticket_id)
    return claimed
