"""All SQL for tickets. Returns rows or None; the service raises typed errors."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.rows import AnyRow
from helpline.models import (
    CacheInvalidation,
    Mailbox,
    Ticket,
    TicketHistory,
    TicketMetadata,
    User,
)
from helpline.models.enums import ChangeType, Role, TicketStatus
from helpline.ticket.access import TicketVisibility
from helpline.ticket.schemas import TicketFilters, TicketSort, ticket_number_in

T = TypeVar("T")

# Core columns of the table, not ORM attributes: statements over them take SQLAlchemy's Core
# execution path, and the hot ones below are built once with bound parameters, so a request
# neither rebuilds them nor walks them for a cache key (ADR 0010).
TICKETS = cast(Table, Ticket.__table__)
COLUMNS = tuple(
    TICKETS.c[name]
    for name in (
        "id",
        "number",
        "title",
        "description",
        "status",
        "priority",
        "created_at",
        "updated_at",
        "assigned_to",
        "customer_id",
        "version",
        "team_id",
        "tags",
    )
)

ENGLISH: ColumnElement[Any] = literal_column("'english'::regconfig")

METADATA = cast(Table, TicketMetadata.__table__)
METADATA_OBJECT = (
    select(
        func.coalesce(func.jsonb_object_agg(METADATA.c.key, METADATA.c.value), text("'{}'::jsonb"))
    )
    .where(METADATA.c.ticket_id == TICKETS.c.id)
    .scalar_subquery()
    .label("metadata")
)


def _visible(visibility: TicketVisibility) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = TICKETS.c.deleted_at.is_(None)
    if visibility.customer_id is not None:
        condition = and_(condition, TICKETS.c.customer_id == visibility.customer_id)
    return condition


def _by_visibility(build: Callable[[ColumnElement[bool]], T]) -> dict[bool, T]:
    """A statement for each kind of caller: staff (every live ticket) and a customer (own
    tickets only, the customer bound as ``:visible_to``)."""
    live: ColumnElement[bool] = TICKETS.c.deleted_at.is_(None)
    return {
        False: build(live),
        True: build(and_(live, TICKETS.c.customer_id == bindparam("visible_to"))),
    }


def _visibility_params(ticket_id: uuid.UUID, visibility: TicketVisibility) -> dict[str, Any]:
    if visibility.customer_id is None:
        return {"ticket_id": ticket_id}
    return {"ticket_id": ticket_id, "visible_to": visibility.customer_id}


THIS_TICKET = TICKETS.c.id == bindparam("ticket_id")
GET_TICKET = _by_visibility(
    lambda visible: select(*COLUMNS, METADATA_OBJECT).where(THIS_TICKET, visible)
)
LOCK_TICKET = _by_visibility(
    lambda visible: select(*COLUMNS).where(THIS_TICKET, visible).with_for_update()
)
# The mailbox that mails the ticket's public staff replies: the one it came from, else the
# default mailbox (tickets opened on the web or by the API) — in the same statement.
REPLY_MAILBOX = func.coalesce(
    TICKETS.c.mailbox_id,
    select(Mailbox.id).where(Mailbox.is_default.is_(True)).scalar_subquery(),
).label("mailbox_id")
TOUCH_TICKET = (
    update(TICKETS)
    .where(THIS_TICKET)
    .values(updated_at=func.clock_timestamp())
    .returning(TICKETS.c.customer_id, REPLY_MAILBOX)
)
TOUCH_OPEN_TICKET = _by_visibility(
    lambda visible: (
        update(TICKETS)
        .where(THIS_TICKET, visible, TICKETS.c.status != TicketStatus.closed.value)
        .values(updated_at=func.clock_timestamp())
        .returning(TICKETS.c.customer_id, REPLY_MAILBOX)
    )
)

USERS = cast(Table, User.__table__)
INSERTED = (
    "id",
    "title",
    "description",
    "status",
    "priority",
    "assigned_to",
    "customer_id",
    "mailbox_id",
    "team_id",
    "tags",
)


def _active(user_id: str, roles: tuple[Role, ...]) -> ColumnElement[bool]:
    return exists().where(
        USERS.c.id == bindparam(user_id),
        USERS.c.is_active.is_(True),
        USERS.c.role.in_([r.value for r in roles]),
    )


def _insert_ticket(with_assignee: bool) -> Any:
    values = select(*(bindparam(name, type_=TICKETS.c[name].type) for name in INSERTED))
    values = values.where(_active("customer_id", (Role.customer,)))
    if with_assignee:
        values = values.where(_active("assigned_to", (Role.agent, Role.admin)))
    return insert(TICKETS).from_select(INSERTED, values).returning(*COLUMNS)


INSERT_TICKET = {False: _insert_ticket(False), True: _insert_ticket(True)}


async def insert_ticket(session: AsyncSession, values: dict[str, Any]) -> AnyRow | None:
    """Insert a ticket whose customer is an active customer and whose assignee, if any, is
    active staff — checked in the same statement; None (nothing inserted) when they are not."""
    stmt = INSERT_TICKET[values["assigned_to"] is not None]
    params = {name: values.get(name) for name in INSERTED}
    return (await session.execute(stmt, params)).first()


async def get_ticket(
    session: AsyncSession, ticket_id: uuid.UUID, visibility: TicketVisibility
) -> AnyRow | None:
    stmt = GET_TICKET[visibility.customer_id is not None]
    return (await session.execute(stmt, _visibility_params(ticket_id, visibility))).first()


async def lock_ticket(
    session: AsyncSession, ticket_id: uuid.UUID, visibility: TicketVisibility
) -> AnyRow | None:
    """Lock a visible ticket row for the rest of the transaction (serializes writers)."""
    stmt = LOCK_TICKET[visibility.customer_id is not None]
    return (await session.execute(stmt, _visibility_params(ticket_id, visibility))).first()


async def lock_tickets(
    session: AsyncSession, ticket_ids: list[uuid.UUID], visibility: TicketVisibility
) -> dict[uuid.UUID, AnyRow]:
    """Lock many visible tickets in one statement, in id order (two bulk changes over the same
    tickets wait for each other instead of deadlocking); unseen ids are absent."""
    stmt = (
        select(*COLUMNS)
        .where(TICKETS.c.id.in_(ticket_ids), _visible(visibility))
        .order_by(TICKETS.c.id)
        .with_for_update()
    )
    return {row.id: row for row in (await session.execute(stmt)).all()}


async def find_live_ticket(
    session: AsyncSession, *, ticket_id: uuid.UUID | None = None, number: int | None = None
) -> AnyRow | None:
    """A ticket that is not deleted, by id or by number (for the email channel's threading)."""
    stmt = select(*COLUMNS).where(TICKETS.c.deleted_at.is_(None))
    if ticket_id is not None:
        stmt = stmt.where(TICKETS.c.id == ticket_id)
    if number is not None:
        stmt = stmt.where(TICKETS.c.number == number)
    return (await session.execute(stmt)).first()


async def update_ticket(
    session: AsyncSession, ticket_id: uuid.UUID, values: dict[str, Any]
) -> AnyRow:
    """Apply changes; the trigger bumps version and updated_at when something changed."""
    stmt = update(TICKETS).where(TICKETS.c.id == ticket_id).values(**values).returning(*COLUMNS)
    return (await session.execute(stmt)).one()


HISTORY = cast(Table, TicketHistory.__table__)
FIELD_CHANGES = {
    ChangeType.title_changed.value: "title",
    ChangeType.description_changed.value: "description",
    ChangeType.status_changed.value: "status",
    ChangeType.priority_changed.value: "priority",
    ChangeType.assignee_changed.value: "assigned_to",
    ChangeType.team_changed.value: "team_id",
    ChangeType.tags_changed.value: "tags",
}
CHANGED_FIELDS = (
    select(HISTORY.c.change_type)
    .distinct()
    .where(
        HISTORY.c.ticket_id == bindparam("ticket_id"),
        HISTORY.c.change_type.in_(list(FIELD_CHANGES)),
        # NULL: a row from before versions were recorded; it may be newer than the version
        (HISTORY.c.version > bindparam("version")) | HISTORY.c.version.is_(None),
    )
)


async def fields_changed_since(
    session: AsyncSession, ticket_id: uuid.UUID, version: int
) -> set[str]:
    """The ticket fields (API names) some change after ``version`` touched, from the history."""
    result = await session.execute(CHANGED_FIELDS, {"ticket_id": ticket_id, "version": version})
    return {FIELD_CHANGES[change_type] for change_type in result.scalars()}


async def touch_ticket(session: AsyncSession, ticket_id: uuid.UUID) -> AnyRow | None:
    """Mark a change of the ticket's metadata or conversation (bumps version and updated_at).

    Returns the ticket's customer and mailbox (None if there is no such ticket)."""
    result = await session.execute(TOUCH_TICKET, {"ticket_id": ticket_id})
    return result.first()


async def touch_open_ticket(
    session: AsyncSession, ticket_id: uuid.UUID, visibility: TicketVisibility
) -> AnyRow | None:
    """Lock a visible ticket that is not closed and mark a change of its conversation or
    metadata, in one statement. Its customer and mailbox, or None when there is no such ticket."""
    stmt = TOUCH_OPEN_TICKET[visibility.customer_id is not None]
    result = await session.execute(stmt, _visibility_params(ticket_id, visibility))
    return result.first()


async def soft_delete_ticket(session: AsyncSession, ticket_id: uuid.UUID) -> None:
    await session.execute(
        update(TICKETS).where(TICKETS.c.id == ticket_id).values(deleted_at=func.clock_timestamp())
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
        conditions.append(TICKETS.c.status.in_([s.value for s in filters.status]))
    if filters.priority is not None:
        conditions.append(TICKETS.c.priority == filters.priority.value)
    if filters.assigned_to is not None:
        conditions.append(TICKETS.c.assigned_to == filters.assigned_to)
    if filters.customer_id is not None:
        conditions.append(TICKETS.c.customer_id == filters.customer_id)
    if filters.created_after is not None:
        conditions.append(TICKETS.c.created_at >= filters.created_after)
    if filters.created_before is not None:
        conditions.append(TICKETS.c.created_at < filters.created_before)
    if filters.updated_since is not None:
        conditions.append(TICKETS.c.updated_at >= filters.updated_since)
    if filters.number is not None:
        conditions.append(TICKETS.c.number == filters.number)
    if filters.team_id is not None:
        conditions.append(TICKETS.c.team_id == filters.team_id)
    if filters.tags:  # all of them: `tags @> ARRAY[...]` (the GIN index, ADR 0014)
        conditions.append(TICKETS.c.tags.contains(list(filters.tags)))
    if filters.q:
        query = func.websearch_to_tsquery(ENGLISH, filters.q)
        matches: ColumnElement[bool] = TICKETS.c.search_vector.op("@@")(query)
        number = ticket_number_in(filters.q)
        if number is not None:  # `#1234` or `1234`: that ticket too (its number is unique)
            matches = or_(TICKETS.c.number == number, matches)
        conditions.append(matches)
    for key, raw in filters.metadata:
        values = [literal(json.dumps(v)).cast(JSONB) for v in _metadata_candidates(raw)]
        conditions.append(
            exists().where(
                METADATA.c.ticket_id == TICKETS.c.id,
                METADATA.c.key == key,
                METADATA.c.value.in_(values),
            )
        )
    return conditions


SORT_COLUMNS = {
    TicketSort.updated_desc: (TICKETS.c.updated_at, True),
    TicketSort.updated_asc: (TICKETS.c.updated_at, False),
    TicketSort.created_desc: (TICKETS.c.created_at, True),
    TicketSort.created_asc: (TICKETS.c.created_at, False),
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
        key = tuple_(column, TICKETS.c.id)
        bound = tuple_(literal(after[0]), literal(after[1]))
        stmt = stmt.where(key < bound if descending else key > bound)
    if descending:
        stmt = stmt.order_by(column.desc(), TICKETS.c.id.desc())
    else:
        stmt = stmt.order_by(column.asc(), TICKETS.c.id.asc())
    return stmt.limit(limit + 1)


async def count_by_status(
    session: AsyncSession, visibility: TicketVisibility, filters: TicketFilters, cap: int
) -> dict[str, int]:
    """Visible tickets per status under ``filters``, each counted up to ``cap + 1`` only.

    One statement of bounded subqueries, one per status (``count(*)`` over ``LIMIT cap + 1``):
    each stops after cap + 1 index entries, so 10M tickets cost what 1,001 do."""
    others = filters.model_copy(update={"status": ()})
    conditions = [_visible(visibility), *_filters(others)]
    columns = []
    for status in TicketStatus:
        inner = (
            select(literal(1))
            .select_from(TICKETS)
            .where(*conditions, TICKETS.c.status == status.value)
            .limit(cap + 1)
            .subquery()
        )
        columns.append(
            select(func.count()).select_from(inner).scalar_subquery().label(status.value)
        )
    row = (await session.execute(select(*columns))).one()
    return {status.value: int(row._mapping[status.value]) for status in TicketStatus}


# -- cache invalidation outbox ---------------------------------------------------------------
# Recorders take the table's EXCLUSIVE lock (readers are not blocked): one recorder at a time
# means a row's id is taken only after every smaller id has committed, so a reader that has seen
# id N never finds a smaller id later and can keep a plain high-water mark.
LOCK_INVALIDATIONS = text("LOCK TABLE cache_invalidations IN EXCLUSIVE MODE")


async def record_lost_invalidations(
    session: AsyncSession,
    tickets: dict[uuid.UUID, uuid.UUID | None],
    *,
    principals: bool = False,
) -> None:
    rows: list[dict[str, Any]] = [
        {"kind": "ticket", "ticket_id": t, "customer_id": c} for t, c in tickets.items()
    ]
    if principals:
        rows.append({"kind": "principals", "ticket_id": None, "customer_id": None})
    if rows:
        await session.execute(LOCK_INVALIDATIONS)
        await session.execute(insert(CacheInvalidation), rows)


RECENT_INVALIDATIONS = text(
    """
    SELECT id, kind, ticket_id, customer_id FROM cache_invalidations
     WHERE id > :after AND created_at > now() - make_interval(secs => :retention_s)
     ORDER BY id LIMIT :limit
    """
)


async def recent_lost_invalidations(
    session: AsyncSession, *, after: int, retention_s: float, limit: int
) -> list[AnyRow]:
    """Recorded invalidations after id ``after`` that are younger than the retention, by id."""
    params = {"after": after, "retention_s": retention_s, "limit": limit}
    return list((await session.execute(RECENT_INVALIDATIONS, params)).all())


PRUNE_INVALIDATIONS = text(
    "DELETE FROM cache_invalidations WHERE created_at < now() - make_interval(secs => :retention_s)"
)


async def prune_lost_invalidations(session: AsyncSession, *, retention_s: float) -> None:
    """Forget recorded invalidations older than every cache entry they could concern."""
    await session.execute(PRUNE_INVALIDATIONS, {"retention_s": retention_s})
