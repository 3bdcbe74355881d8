"""All SQL for tickets. Returns rows or None; the service raises typed errors."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    Uuid,
    and_,
    any_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.rows import AnyRow
from helpline.models import (
    CacheInvalidation,
    Conversation,
    Mailbox,
    SlaClock,
    SlaInboxRest,
    SlaPolicy,
    SlaTicketState,
    Ticket,
    TicketHistory,
    TicketMetadata,
    TicketReadMarker,
    User,
)
from helpline.models.enums import ChangeType, Role, TicketStatus
from helpline.ticket.access import TicketVisibility
from helpline.ticket.schemas import SearchScope, TicketFilters, TicketSort, ticket_number_in

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
MESSAGES = cast(Table, Conversation.__table__)
# The expression of the messages' full-text index (migration 0021): repeated verbatim so the
# planner uses the index.
MESSAGE_VECTOR: ColumnElement[Any] = func.to_tsvector(ENGLISH, MESSAGES.c.message)
METADATA_OBJECT = (
    select(
        func.coalesce(func.jsonb_object_agg(METADATA.c.key, METADATA.c.value), text("'{}'::jsonb"))
    )
    .where(METADATA.c.ticket_id == TICKETS.c.id)
    .scalar_subquery()
    .label("metadata")
)

# The staff-only `sla` block (sla/schemas.TicketSla) as one jsonb value, NULL when no policy
# applies: a correlated subquery over the SLA worker's tables (sla_ticket_states by its primary
# key, the ticket's few clocks by theirs), so a ticket read or a list page stays one statement.
STATES = cast(Table, SlaTicketState.__table__)
CLOCKS = cast(Table, SlaClock.__table__)
POLICIES = cast(Table, SlaPolicy.__table__)
# The live tickets without a running deadline (the second half of the `sla_due` order), kept by
# the SLA worker (migration 0025).
INBOX_REST = cast(Table, SlaInboxRest.__table__)
OPEN_CLOCK = and_(CLOCKS.c.fulfilled_at.is_(None), CLOCKS.c.stopped_at.is_(None))


def _kind_due(kind: str) -> ColumnElement[Any]:
    return func.min(CLOCKS.c.due_at).filter(and_(CLOCKS.c.kind == kind, OPEN_CLOCK))


SLA_BLOCK = (
    select(
        func.jsonb_build_object(
            literal_column("'policy'"),
            STATES.c.policy_id,
            literal_column("'policy_name'"),
            POLICIES.c.name,
            literal_column("'first_response_due_at'"),
            _kind_due("first_response"),
            literal_column("'next_response_due_at'"),
            _kind_due("next_response"),
            literal_column("'resolution_due_at'"),
            _kind_due("resolution"),
            literal_column("'paused'"),
            func.coalesce(
                func.bool_or(and_(CLOCKS.c.paused_at.is_not(None), OPEN_CLOCK)), literal(False)
            ),
            literal_column("'breached'"),
            func.to_jsonb(STATES.c.breached),
        )
    )
    .select_from(
        STATES.outerjoin(POLICIES, POLICIES.c.id == STATES.c.policy_id).outerjoin(
            CLOCKS, CLOCKS.c.ticket_id == STATES.c.ticket_id
        )
    )
    .where(STATES.c.ticket_id == TICKETS.c.id)
    .group_by(STATES.c.ticket_id, POLICIES.c.id)
    .scalar_subquery()
    .label("sla")
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
# Staff read the ticket with its `sla` block; a customer's read never loads it.
GET_TICKET = {
    False: select(*COLUMNS, METADATA_OBJECT, SLA_BLOCK).where(
        THIS_TICKET, TICKETS.c.deleted_at.is_(None)
    ),
    True: select(*COLUMNS, METADATA_OBJECT).where(
        THIS_TICKET,
        TICKETS.c.deleted_at.is_(None),
        TICKETS.c.customer_id == bindparam("visible_to"),
    ),
}
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


# Staff searching messages: the matching messages are first taken from the messages' GIN index,
# at most this many; when that is all of them, the list filters on those tickets' ids (exact, and
# an index probe however rare the words). Only when more match does the list walk its order
# (updated_at) testing each ticket's messages: the words are then common enough that a page of
# matches comes early. Without the probe a word in no message walked every ticket (3 s at 100k).
MESSAGE_PROBE_CAP = 5000
# Staff's `q` over the tickets' own text (and `#number`): the same probe. The planner cannot
# tell a rare word from a common one under `ORDER BY updated_at LIMIT` (a word it does not know
# is estimated at thousands of tickets): an order number walked the whole updated_at index —
# 998,136 rows, 5.7 s at 1M tickets. Up to this many matches the list takes them by id.
TICKET_PROBE_CAP = 5000
# But words the planner expects in more tickets (or messages) than this are not probed: the probe
# would take every match from the GIN index and recheck each lossy heap page (for messages,
# computing their vectors again) to keep 5,001 — 0.8 s for a word in 230k of 3.3M messages at 1M
# tickets, 0.2-0.3 s for one in 76k tickets, growing with the table — while the list's walk finds
# a page of so common a word within a few hundred tickets. The estimate is one plan (no rows
# read) from the search indexes' statistics, which list the corpus's common lexemes; a word they
# do not list is estimated well below this, so a rare word is still probed.
PROBE_ESTIMATE_LIMIT = 10 * TICKET_PROBE_CAP
# Staff's tag filter: the same probe. The planner estimates a tag it has no statistics for (one
# on few tickets, or on none) at 0.5% of the tickets, so `tags @> …` under `ORDER BY updated_at
# LIMIT` walked the whole updated_at index testing every row's tags: a tag on no ticket took
# 7.7 s at 1M tickets (past the statement timeout at 10M). Up to this many tagged tickets the
# list takes them by id from the GIN index; more, and a page of them comes early in the walk.
TAG_PROBE_CAP = 5000
# Staff's `q` also finds the tickets of customers whose email address is `q` or whose name holds
# all its words: taken first (at most this many; a name more common than that is no search).
CUSTOMER_PROBE_CAP = 100
SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")


@dataclass(frozen=True)
class SearchProbe:
    """What a search's words (and a tag filter) match, looked up before the list query so that
    it can use indexes: ``tickets`` — the tickets whose own text (or number) matches,
    ``messages`` — the tickets whose messages match, ``tagged`` — the live tickets with all the
    filter's tags (each None: more than its cap, or not probed; the list then tests the words or
    tags in its order instead); ``customers`` — the customers matched."""

    tickets: tuple[uuid.UUID, ...] | None = None
    messages: tuple[uuid.UUID, ...] | None = None
    customers: tuple[uuid.UUID, ...] = ()
    tagged: tuple[uuid.UUID, ...] | None = None


def _tsquery(q: str) -> ColumnElement[Any]:
    """``q`` as a tsquery, its text inlined (safely quoted) rather than bound: a search
    statement is then planned for its words each time. With a bound value a prepared statement
    falls back to a generic plan after five runs, which cannot tell a rare word from a common
    one and walked a customer's tickets recomputing every message's vector (70 ms, not 0.1)."""
    return func.websearch_to_tsquery(ENGLISH, _inlined(q))


def _inlined(q: str) -> ColumnElement[Any]:
    return bindparam(None, q, String(), literal_execute=True)


def _message_conditions(query: ColumnElement[Any], visibility: TicketVisibility) -> list[Any]:
    conditions: list[Any] = [MESSAGE_VECTOR.op("@@")(query)]
    if not visibility.sees_internal:
        conditions.append(MESSAGES.c.is_internal.is_(False))
    return conditions


def _customers_matching(q: str) -> Select[tuple[Any]]:
    """Customers whose email address is ``q`` (any case) or whose name holds all its words."""
    words = _inlined(q)
    return select(USERS.c.id).where(
        USERS.c.role == Role.customer.value,
        or_(
            func.lower(USERS.c.email) == func.lower(words),
            func.to_tsvector(SIMPLE, USERS.c.name).op("@@")(func.plainto_tsquery(SIMPLE, words)),
        ),
    )


def _ids(rows: Select[tuple[Any]], cap: int) -> Any:
    """``array_agg`` of at most ``cap + 1`` ids (so the caller sees whether there were more)."""
    limited = rows.limit(cap + 1).subquery()
    column = next(iter(limited.c))
    return select(func.array_agg(column)).select_from(limited).scalar_subquery()


async def probe_search(
    session: AsyncSession, visibility: TicketVisibility, filters: TicketFilters
) -> SearchProbe | None:
    """One statement for staff's `q` and tags (customers: none — their own tickets are few to
    walk)."""
    if not (filters.q or filters.tags) or visibility.customer_id is not None:
        return None
    columns: dict[str, Any] = {}
    if filters.tags:
        tagged = select(TICKETS.c.id).where(
            TICKETS.c.deleted_at.is_(None), TICKETS.c.tags.contains(list(filters.tags))
        )
        columns["tagged"] = _ids(tagged, TAG_PROBE_CAP)
    if filters.q:
        await _probe_words(session, filters.q, filters.q_scope, visibility, columns)
    if not columns:  # only the messages, and their words too common to probe: walk
        return SearchProbe()
    row = (await session.execute(select(*(c.label(k) for k, c in columns.items())))).one()
    found = row._mapping
    tickets = found.get("tickets") or []
    messages = found.get("messages") or []
    customers = found.get("customers") or []
    tagged_ids = found.get("tagged") or []
    return SearchProbe(
        tickets=None
        if "tickets" not in found or len(tickets) > TICKET_PROBE_CAP
        else tuple(tickets),
        messages=None
        if "messages" not in found or len(messages) > MESSAGE_PROBE_CAP
        else tuple(set(messages)),
        customers=() if len(customers) > CUSTOMER_PROBE_CAP else tuple(customers),
        tagged=None
        if "tagged" not in found or len(tagged_ids) > TAG_PROBE_CAP
        else tuple(tagged_ids),
    )


async def _estimated_rows(session: AsyncSession, query: Select[Any]) -> float:
    """The planner's estimate of the rows of ``query`` (a plan, nothing run)."""
    # Every value rendered as a quoted literal (the words too, as `_tsquery` does): planned for
    # these words, never a generic plan.
    connection = await session.connection()
    sql = query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    explained = await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}")  # nosec B608
    plan = explained.scalar_one()
    return float((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"])


async def _too_common(session: AsyncSession, query: Select[Any]) -> bool:
    return await _estimated_rows(session, query) > PROBE_ESTIMATE_LIMIT


async def _probe_words(
    session: AsyncSession,
    q: str,
    scope: SearchScope,
    visibility: TicketVisibility,
    columns: dict[str, Any],
) -> None:
    """The probe's columns for the words ``q`` over ``scope``, but for words too common."""
    if scope is not SearchScope.messages:
        own_text = select(TICKETS.c.id).where(
            TICKETS.c.deleted_at.is_(None), _ticket_text_matches(q, _tsquery(q))
        )
        if not await _too_common(session, own_text):
            columns["tickets"] = _ids(own_text, TICKET_PROBE_CAP)
    if scope is not SearchScope.tickets:
        matching = select(MESSAGES.c.ticket_id).where(*_message_conditions(_tsquery(q), visibility))
        if not await _too_common(session, matching):
            columns["messages"] = _ids(matching, MESSAGE_PROBE_CAP)
    if scope is not SearchScope.messages and visibility.sees_internal:
        columns["customers"] = _ids(_customers_matching(q), CUSTOMER_PROBE_CAP)


def _any(column: Any, ids: tuple[uuid.UUID, ...]) -> ColumnElement[bool]:
    # One array parameter (not one per id): `column = ANY($1)`, an index probe per id.
    matches: ColumnElement[bool] = column == any_(bindparam(None, list(ids), type_=ARRAY(Uuid())))
    return matches


def _message_matches(
    query: ColumnElement[Any], visibility: TicketVisibility, probe: SearchProbe | None
) -> ColumnElement[bool]:
    """A message of the ticket matches ``query``: customers match public messages only."""
    if probe is not None and probe.messages is not None:
        return _any(TICKETS.c.id, probe.messages)
    matching = select(literal(1)).where(
        MESSAGES.c.ticket_id == TICKETS.c.id, *_message_conditions(query, visibility)
    )
    if probe is not None:
        # Staff, and more messages match than the probe takes: the list walks its order and
        # tests each ticket's few messages. `OFFSET 0` keeps it a per-ticket test: otherwise
        # PostgreSQL, expecting to walk many tickets, may turn the EXISTS into a hashed subplan
        # that first collects every matching message (a word in 184k of 3.3M messages: past
        # the 15 s statement timeout at 1M tickets, against 8 ms walking). A customer's walk
        # is over their own tickets, few enough for the planner to weigh both ways itself.
        matching = matching.offset(0)
    return matching.exists()


def _text_matches(
    q: str, filters: TicketFilters, visibility: TicketVisibility, probe: SearchProbe | None
) -> ColumnElement[bool]:
    """``q`` over what ``q_scope`` names; `#1234` also finds ticket 1234 unless only messages;
    for staff, a customer's name or email address finds that customer's tickets."""
    query = _tsquery(q)
    parts: list[ColumnElement[bool]] = []
    if filters.q_scope is not SearchScope.messages:
        if probe is not None and probe.tickets is not None:
            parts.append(_any(TICKETS.c.id, probe.tickets))
        else:
            parts.append(_ticket_text_matches(q, query))
        if probe is not None and probe.customers:
            parts.append(_any(TICKETS.c.customer_id, probe.customers))
    if filters.q_scope is not SearchScope.tickets:
        parts.append(_message_matches(query, visibility, probe))
    return parts[0] if len(parts) == 1 else or_(*parts)


def _ticket_text_matches(q: str, query: ColumnElement[Any]) -> ColumnElement[bool]:
    """The ticket's own text matches; `#1234` or `1234` also finds ticket 1234 (its number is
    unique)."""
    text_matches: ColumnElement[bool] = TICKETS.c.search_vector.op("@@")(query)
    number = ticket_number_in(q)
    return text_matches if number is None else or_(TICKETS.c.number == number, text_matches)


def _filters(
    filters: TicketFilters, visibility: TicketVisibility, probe: SearchProbe | None = None
) -> list[ColumnElement[bool]]:
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
        if probe is not None and probe.tagged is not None:
            conditions.append(_any(TICKETS.c.id, probe.tagged))
    if filters.q:
        conditions.append(_text_matches(filters.q, filters, visibility, probe))
    # An alias: the `sla_due` order joins sla_ticket_states itself.
    state = STATES.alias("sla_filter")
    if filters.sla_breached is not None:
        breached = func.cardinality(state.c.breached)
        conditions.append(
            exists().where(
                state.c.ticket_id == TICKETS.c.id,
                breached > 0 if filters.sla_breached else breached == 0,
            )
        )
    if filters.sla_due_before is not None:
        conditions.append(
            exists().where(
                state.c.ticket_id == TICKETS.c.id, state.c.due_at < filters.sla_due_before
            )
        )
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
    after: tuple[Any, ...] | None,
    reader: uuid.UUID | None = None,
) -> list[AnyRow]:
    """One keyset page (limit + 1 rows, so the caller knows whether more follow); with a staff
    ``reader``, each row says whether it is unread for them.

    ``sla_due`` reads two index ranges: tickets by their earliest running deadline (the
    ``(due_at, ticket_id)`` index of sla_ticket_states), then — only when those run out within
    the page — the tickets without one, most recently updated first (sla_inbox_rest's index).
    Its ``after`` is ``(due_at, id)`` in the first range and ``(updated_at, id, True)`` in the
    second. The second statement is paid only from the page that crosses over, and neither
    range skips the other's rows."""
    probe = await probe_search(session, visibility, filters)
    if sort is not TicketSort.sla_due:
        stmt = list_statement(visibility, filters, sort, limit, after, probe, reader)
        return list((await session.execute(stmt)).all())
    rows: list[AnyRow] = []
    rest = after is not None and len(after) > 2 and bool(after[2])
    if not rest:
        stmt = list_statement(visibility, filters, sort, limit, after, probe, reader)
        rows = list((await session.execute(stmt)).all())
        after = None
    if len(rows) <= limit and filters.sla_due_before is None:
        stmt = without_deadline_statement(
            visibility, filters, limit - len(rows), after, probe, reader
        )
        rows += (await session.execute(stmt)).all()
    return rows


READS = cast(Table, TicketReadMarker.__table__)
# Staff list items: the customer's id, name and email as one jsonb value (their primary key).
CUSTOMER_BLOCK = (
    select(
        func.jsonb_build_object(
            literal_column("'id'"),
            USERS.c.id,
            literal_column("'name'"),
            USERS.c.name,
            literal_column("'email'"),
            USERS.c.email,
        )
    )
    .where(USERS.c.id == TICKETS.c.customer_id)
    .scalar_subquery()
    .label("customer")
)


# Unread for the reader (bound as :reader): no read marker at the ticket's version — never
# opened, marked unread, or changed since (one probe of ticket_reads' primary key per row).
def _unread(reader: uuid.UUID) -> ColumnElement[bool]:
    return (
        ~exists()
        .where(
            READS.c.user_id == bindparam("reader", reader, type_=Uuid()),
            READS.c.ticket_id == TICKETS.c.id,
            READS.c.seen_version >= TICKETS.c.version,
        )
        .correlate(TICKETS)
    ).label("unread")


def _columns(visibility: TicketVisibility, reader: uuid.UUID | None = None) -> list[Any]:
    """The list's columns: staff also get each ticket's `sla` block and customer, and with a
    ``reader`` whether it is unread for them (same statement)."""
    if not visibility.sees_internal:
        return list(COLUMNS)
    columns: list[Any] = [*COLUMNS, SLA_BLOCK, CUSTOMER_BLOCK]
    if reader is not None:
        columns.append(_unread(reader))
    return columns


def list_statement(
    visibility: TicketVisibility,
    filters: TicketFilters,
    sort: TicketSort,
    limit: int,
    after: tuple[Any, ...] | None,
    probe: SearchProbe | None = None,
    reader: uuid.UUID | None = None,
) -> Select[*tuple[Any, ...]]:
    """The keyset page query (separate so its plan can be inspected); for ``sla_due``, the
    tickets with a running deadline; ``probe``: what `q` matched outside the ticket row
    (`probe_search`)."""
    if sort is TicketSort.sla_due:
        due, ticket_id = STATES.c.due_at, STATES.c.ticket_id
        stmt = (
            select(*_columns(visibility, reader), due.label("sla_due_at"))
            .select_from(TICKETS.join(STATES, ticket_id == TICKETS.c.id))
            .where(due.is_not(None), _visible(visibility), *_filters(filters, visibility, probe))
        )
        if after is not None:
            bound = tuple_(literal(after[0]), literal(after[1]))
            stmt = stmt.where(tuple_(due, ticket_id) > bound)
        return stmt.order_by(due.asc(), ticket_id.asc()).limit(limit + 1)
    column, descending = SORT_COLUMNS[sort]
    stmt = select(*_columns(visibility, reader)).where(
        _visible(visibility), *_filters(filters, visibility, probe)
    )
    if after is not None:
        key = tuple_(column, TICKETS.c.id)
        bound = tuple_(literal(after[0]), literal(after[1]))
        stmt = stmt.where(key < bound if descending else key > bound)
    if descending:
        stmt = stmt.order_by(column.desc(), TICKETS.c.id.desc())
    else:
        stmt = stmt.order_by(column.asc(), TICKETS.c.id.asc())
    return stmt.limit(limit + 1)


def without_deadline_statement(
    visibility: TicketVisibility,
    filters: TicketFilters,
    limit: int,
    after: tuple[Any, ...] | None,
    probe: SearchProbe | None = None,
    reader: uuid.UUID | None = None,
) -> Select[*tuple[Any, ...]]:
    """``sla_due``'s second range: tickets without a running deadline, most recently updated
    first — by ``updated_at`` as the SLA worker last saw it (a range of sla_inbox_rest's index,
    which holds exactly those tickets; the copy lags a ticket write by the worker's poll, and
    the cursor holds it). An inbox's waiting (paused) tickets are among the recently updated, so
    with a status filter they come early in that index, where oldest-first would walk the closed
    past first."""
    position, ticket_id = INBOX_REST.c.ticket_updated_at, INBOX_REST.c.ticket_id
    stmt = (
        select(
            *_columns(visibility, reader),
            null().label("sla_due_at"),
            position.label("sla_position"),
        )
        .select_from(TICKETS.join(INBOX_REST, ticket_id == TICKETS.c.id))
        .where(_visible(visibility), *_filters(filters, visibility, probe))
    )
    if after is not None:
        key = tuple_(position, ticket_id)
        stmt = stmt.where(key < tuple_(literal(after[0]), literal(after[1])))
    return stmt.order_by(position.desc(), ticket_id.desc()).limit(limit + 1)


async def count_by_status(
    session: AsyncSession, visibility: TicketVisibility, filters: TicketFilters, cap: int
) -> dict[str, int]:
    """Visible tickets per status under ``filters``, each counted up to ``cap + 1`` only.

    One statement of bounded subqueries, one per status (``count(*)`` over ``LIMIT cap + 1``):
    each stops after cap + 1 index entries, so 10M tickets cost what 1,001 do."""
    others = filters.model_copy(update={"status": ()})
    probe = await probe_search(session, visibility, others)
    conditions = [_visible(visibility), *_filters(others, visibility, probe)]
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


# Ranked search over tickets and their messages (`GET /api/v1/tickets/search`). Each side takes
# at most `:cap` matches from its GIN index (ticket search_vector; the messages' expression index)
# before ranking, so a word in a million messages costs a bounded bitmap walk, not a sort of all of
# them. A ticket ranks by its best match; the excerpt comes from that message (or the ticket's
# own text) through ts_headline with private-use markers, computed for the returned rows only.
HIGHLIGHT_START, HIGHLIGHT_STOP = "\ue000", "\ue001"
_SEARCH_SQL = """
WITH query AS (SELECT websearch_to_tsquery('english'::regconfig, :q) AS q),
-- staff: customers whose email address is `q` (the unique lower(email) index) or whose name
-- holds every word of it (the names' GIN index): their tickets are hits too
customer AS (
  SELECT id FROM users
   WHERE :people AND role = 'customer'
     AND (lower(email) = lower(:q)
          OR to_tsvector('simple'::regconfig, name) @@ plainto_tsquery('simple'::regconfig, :q))
   LIMIT 100
),
message_hits AS (
  SELECT c.ticket_id, c.id AS message_id,
         ts_rank(to_tsvector('english'::regconfig, c.message), query.q) AS rank
    FROM conversations c, query
   WHERE to_tsvector('english'::regconfig, c.message) @@ query.q
     AND :messages {public_only}
     AND EXISTS (SELECT 1 FROM tickets v
                  WHERE v.id = c.ticket_id AND v.deleted_at IS NULL {own})
   LIMIT :cap
),
ticket_hits AS (
  (SELECT v.id AS ticket_id, NULL::uuid AS message_id,
          -- the ticket's own text (title weighted A) counts a little more than a message
          ts_rank(v.search_vector, query.q) * 1.5
            + CASE WHEN v.number = :number THEN 10 ELSE 0 END AS rank
     FROM tickets v, query
    WHERE (v.search_vector @@ query.q OR v.number = :number)
      AND :tickets AND v.deleted_at IS NULL {own}
    LIMIT :cap)
  UNION ALL
  -- a branch of its own, so that each side keeps its index (an OR with a subquery would not)
  (SELECT v.id, NULL::uuid, 5 + ts_rank(v.search_vector, query.q) * 1.5
     FROM tickets v, query
    WHERE v.customer_id IN (SELECT id FROM customer)
      AND :tickets AND v.deleted_at IS NULL {own}
    LIMIT :cap)
),
best AS (
  SELECT DISTINCT ON (ticket_id) ticket_id, message_id, rank
    FROM (SELECT * FROM message_hits UNION ALL SELECT * FROM ticket_hits) hits
   ORDER BY ticket_id, rank DESC, message_id NULLS FIRST
),
page AS (
  SELECT best.*, t.updated_at FROM best JOIN tickets t ON t.id = best.ticket_id
   ORDER BY best.rank DESC, t.updated_at DESC, best.ticket_id DESC
   LIMIT :limit
)
SELECT t.id, t.number, t.title, t.status, t.priority, t.updated_at, t.customer_id,
       page.rank, page.message_id, c.timestamp AS message_at, c.is_internal,
       ts_headline('english'::regconfig,
                   translate(COALESCE(c.message, t.title || E'\\n' || t.description),
                             E'\\ue000\\ue001', ''),
                   query.q,
                   'StartSel=' || E'\\ue000' || ', StopSel=' || E'\\ue001'
                     || ', MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "')
         AS excerpt,
       (SELECT count(*) FROM best) AS found,
       (SELECT count(*) FROM message_hits) >= :cap
         OR (SELECT count(*) FROM ticket_hits) >= :cap AS capped
  FROM page
  JOIN tickets t ON t.id = page.ticket_id
  LEFT JOIN conversations c ON c.id = page.message_id
  CROSS JOIN query
 ORDER BY page.rank DESC, page.updated_at DESC, page.ticket_id DESC
"""
SEARCH = {
    (own, public_only): text(
        _SEARCH_SQL.format(
            public_only="AND NOT c.is_internal" if public_only else "",
            own="AND v.customer_id = :visible_to" if own else "",
        )
    ).bindparams(bindparam("q", type_=String(), literal_execute=True))  # see _tsquery
    for own in (False, True)
    for public_only in (False, True)
}


async def search_tickets(
    session: AsyncSession,
    visibility: TicketVisibility,
    q: str,
    scope: SearchScope,
    limit: int,
    cap: int,
) -> list[AnyRow]:
    """The best-ranked visible tickets for ``q`` with the excerpt of their best match."""
    params: dict[str, Any] = {
        "q": q,
        "number": ticket_number_in(q) if scope is not SearchScope.messages else None,
        "people": visibility.sees_internal and scope is not SearchScope.messages,
        "messages": scope is not SearchScope.tickets,
        "tickets": scope is not SearchScope.messages,
        "limit": limit,
        "cap": cap,
    }
    own = visibility.customer_id is not None
    if own:
        params["visible_to"] = visibility.customer_id
    statement = SEARCH[own, not visibility.sees_internal]
    return list((await session.execute(statement, params)).all())


# -- read markers (unread) --------------------------------------------------------------------
MARK_READ = text(
    """
    WITH ticket AS (
      SELECT id, version FROM tickets WHERE id = :ticket_id AND deleted_at IS NULL
    ), marker AS (
      INSERT INTO ticket_reads (user_id, ticket_id, seen_version, seen_at)
      SELECT :reader, ticket.id, least(coalesce(:version, ticket.version), ticket.version), now()
        FROM ticket
      ON CONFLICT (user_id, ticket_id) DO UPDATE
         SET seen_version = greatest(ticket_reads.seen_version, excluded.seen_version),
             seen_at = excluded.seen_at
      RETURNING ticket_id, seen_version, seen_at
    )
    SELECT marker.ticket_id, marker.seen_version, marker.seen_at, ticket.version
      FROM marker JOIN ticket ON ticket.id = marker.ticket_id
    """
).bindparams(
    bindparam("ticket_id", type_=Uuid()),
    bindparam("reader", type_=Uuid()),
    bindparam("version", type_=Integer()),
)


async def mark_read(
    session: AsyncSession, reader: uuid.UUID, ticket_id: uuid.UUID, version: int | None
) -> AnyRow | None:
    """Record that ``reader`` has read a live ticket up to ``version`` (its current version
    when None or higher), never moving an earlier marker back — one statement; the marker
    and the ticket's version, or None when there is no such ticket."""
    params = {"ticket_id": ticket_id, "reader": reader, "version": version}
    return (await session.execute(MARK_READ, params)).first()


MARK_UNREAD = text(
    """
    WITH ticket AS (
      SELECT id FROM tickets WHERE id = :ticket_id AND deleted_at IS NULL
    ), gone AS (
      DELETE FROM ticket_reads
       WHERE user_id = :reader AND ticket_id = (SELECT id FROM ticket)
    )
    SELECT id FROM ticket
    """
).bindparams(bindparam("ticket_id", type_=Uuid()), bindparam("reader", type_=Uuid()))


async def mark_unread(session: AsyncSession, reader: uuid.UUID, ticket_id: uuid.UUID) -> bool:
    """Forget ``reader``'s marker on a live ticket (it is unread for them again), in one
    statement; False when there is no such ticket."""
    params = {"ticket_id": ticket_id, "reader": reader}
    return (await session.execute(MARK_UNREAD, params)).first() is not None


async def unread_of_tickets(
    session: AsyncSession, reader: uuid.UUID, ticket_ids: list[uuid.UUID]
) -> dict[uuid.UUID, bool]:
    """Whether each live ticket is unread for ``reader`` (absent: no such ticket)."""
    stmt = select(TICKETS.c.id, _unread(reader)).where(
        TICKETS.c.id.in_(ticket_ids), TICKETS.c.deleted_at.is_(None)
    )
    return {row.id: row.unread for row in (await session.execute(stmt)).all()}
