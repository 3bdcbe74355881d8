"""Ticket rules: visibility, who may change what, closed-is-terminal, optimistic locking."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.principal import Principal
from helpline.db import UnitOfWork
from helpline.errors import (
    PermissionDenied,
    PreconditionFailed,
    StatusTransitionForbidden,
    TicketClosed,
    TicketNotFound,
    ValidationFailed,
)
from helpline.kit.ids import new_id
from helpline.kit.pagination import Keyset, KeysetPage, Page, time_and_id, time_and_id_of
from helpline.kit.rows import AnyRow
from helpline.models.enums import Role, TicketStatus
from helpline.sla.schemas import TicketSla
from helpline.team import service as team_service
from helpline.ticket import cache as ticket_cache
from helpline.ticket import repository
from helpline.ticket.access import (
    CUSTOMER_UNSETTABLE_ON_CREATE,
    CUSTOMER_UPDATABLE,
    TicketVisibility,
    customer_status_choices,
    visible_tickets,
)
from helpline.ticket.cache import ListDocument, TicketEntry
from helpline.ticket.schemas import (
    COUNT_CAP,
    MAX_TAGS,
    SEARCH_CAP,
    ExcerptPart,
    SearchHit,
    SearchMeta,
    SearchResults,
    SearchScope,
    StatusCount,
    TicketCounts,
    TicketCreate,
    TicketDetail,
    TicketFilters,
    TicketListItem,
    TicketRead,
    TicketSort,
    TicketUpdate,
    normalize_tags,
)
from helpline.user import service as user_service

STAFF = {Role.agent, Role.admin}


def _sla_due_at(row: Any) -> datetime | None:
    """A ticket's earliest running deadline: a row carries it; a rendered list item has its
    `sla` block."""
    due: datetime | None = getattr(row, "sla_due_at", None)
    if due is None and getattr(row, "sla", None) is not None:
        block = row.sla if isinstance(row.sla, TicketSla) else TicketSla.model_validate(row.sla)
        running = [
            d
            for d in (
                block.first_response_due_at,
                block.next_response_due_at,
                block.resolution_due_at,
            )
            if d is not None
        ]
        due = min(running) if running else None
    return due


def _sla_due_position(row: Any) -> list[Any]:
    """Where a row stands in the ``sla_due`` order: ``[due_at, id]`` among the tickets with a
    running deadline, ``[updated_at, id, "rest"]`` among the ones without (which follow). A row
    of the list carries the ``updated_at`` the order holds (``sla_position``, the SLA worker's
    copy); a rendered item has only its own, equal to it unless the worker still lags a write."""
    due = _sla_due_at(row)
    if due is None:
        position: datetime = getattr(row, "sla_position", None) or row.updated_at
        return [position.isoformat(), str(row.id), "rest"]
    return [due.isoformat(), str(row.id)]


def _parse_sla_due(values: list[Any]) -> tuple[datetime, uuid.UUID, bool]:
    if len(values) == 3 and values[2] == "rest":
        return datetime.fromisoformat(values[0]), uuid.UUID(values[1]), True
    if len(values) != 2:
        raise ValueError("not a position of the sla_due order")
    return datetime.fromisoformat(values[0]), uuid.UUID(values[1]), False


def _ticket_keyset(sort: TicketSort) -> Keyset[Any, tuple[Any, ...]]:
    if sort is TicketSort.sla_due:
        return Keyset(sort.value, _sla_due_position, _parse_sla_due)
    updated = sort in (TicketSort.updated_desc, TicketSort.updated_asc)
    return Keyset(
        sort.value,
        time_and_id_of(lambda r: r.updated_at if updated else r.created_at),
        time_and_id(uuid.UUID),
    )


def _refuse_sla_for_customers(
    principal: Principal, filters: TicketFilters, sort: TicketSort | None = None
) -> None:
    """Service levels are staff-only: a customer may neither filter nor sort by them."""
    if principal.is_staff:
        return
    used = [
        name
        for name, on in (
            ("sla_breached", filters.sla_breached is not None),
            ("sla_due_before", filters.sla_due_before is not None),
            ("sort", sort is TicketSort.sla_due),
        )
        if on
    ]
    if used:
        raise PermissionDenied(
            "Service levels are for staff.",
            errors=[
                {"loc": ["query", name], "msg": "staff only", "type": "forbidden"} for name in used
            ],
        )


TICKET_KEYSETS = {sort: _ticket_keyset(sort) for sort in TicketSort}


def _reader(principal: Principal) -> uuid.UUID | None:
    """Whose read markers a list shows: staff's own; customers have none."""
    return principal.user_id if principal.is_staff else None


def _forbid(fields: list[str]) -> PermissionDenied:
    return PermissionDenied(
        "Customers cannot set " + ", ".join(fields) + ".",
        errors=[
            {"loc": ["body", f], "msg": "not allowed for customers", "type": "forbidden"}
            for f in fields
        ],
    )


async def create_ticket(
    uow: UnitOfWork,
    principal: Principal,
    data: TicketCreate,
    *,
    mailbox_id: uuid.UUID | None = None,
) -> AnyRow:
    """Create a ticket; customers create their own, staff name the customer. ``mailbox_id``:
    the mailbox a ticket opened by mail came from (its public replies are mailed from it)."""
    session = uow.session
    given = data.model_fields_set
    if principal.is_customer:
        forbidden = [f for f in CUSTOMER_UNSETTABLE_ON_CREATE if f in given]
        if data.customer_id == principal.user_id:
            forbidden.remove("customer_id")
        if forbidden:
            raise _forbid(forbidden)
        customer_id = principal.user_id
    else:
        if data.customer_id is None:
            raise ValidationFailed(
                "customer_id is required when staff create a ticket.",
                errors=[
                    {"loc": ["body", "customer_id"], "msg": "field required", "type": "missing"}
                ],
            )
        customer_id = data.customer_id
        if data.team_id is not None:
            await team_service.require_team(session, data.team_id)
    values = {
        "id": new_id(),
        "title": data.title,
        "description": data.description,
        "status": data.status.value,
        "priority": data.priority.value,
        "assigned_to": data.assigned_to,
        "customer_id": customer_id,
        "mailbox_id": mailbox_id,
        "team_id": data.team_id,
        "tags": normalize_tags(data.tags),
    }
    # The customer and the assignee are checked by the insert itself (one statement); only
    # when it inserts nothing do we look at which of them was wrong.
    row = await repository.insert_ticket(session, values)
    if row is None:
        await user_service.require_user_with_role(
            session, customer_id, {Role.customer}, "customer_id"
        )
        if data.assigned_to is not None:
            await user_service.require_user_with_role(
                session, data.assigned_to, STAFF, "assigned_to"
            )
        raise ValidationFailed(  # both became valid since the insert: a race; try again
            "customer_id and assigned_to must reference active users.",
            errors=[{"loc": ["body"], "msg": "a referenced user changed", "type": "reference"}],
        )
    ticket_cache.invalidate_after_commit(uow, row.id, row.customer_id)
    return row


ALL_TICKETS = TicketVisibility(customer_id=None, sees_internal=True)


async def _not_found(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID
) -> TicketNotFound:
    """The 404 for a ticket the caller cannot see; when it exists after all (someone else's
    ticket: an IDOR attempt) it is marked concealed for the audit log, never in the response.
    Only on this failure path, and only for callers who do not see every ticket."""
    error = TicketNotFound()
    if visible_tickets(principal) != ALL_TICKETS and (
        await repository.get_ticket(session, ticket_id, ALL_TICKETS) is not None
    ):
        error.concealing("ticket", ticket_id)
    return error


async def find_live_ticket(
    session: AsyncSession, *, ticket_id: uuid.UUID | None = None, number: int | None = None
) -> AnyRow | None:
    """A live ticket by id or number, whoever may see it: for the email channel, which decides
    who may write to it by the sender's address (never exposed to a caller as is)."""
    if ticket_id is None and number is None:
        return None
    return await repository.find_live_ticket(session, ticket_id=ticket_id, number=number)


async def get_ticket_entry(
    uow: UnitOfWork, principal: Principal, ticket_id: uuid.UUID
) -> TicketEntry:
    """A visible ticket as GET renders it (read through the cache), or 404."""
    cache = ticket_cache.of(uow)
    visibility = visible_tickets(principal)
    if cache is not None:
        entry = await cache.get_ticket(uow, ticket_id, visibility)
    else:
        row = await uow.read(lambda s: repository.get_ticket(s, ticket_id, visibility))
        entry = None if row is None else TicketEntry.from_row(row)
    if entry is None:
        raise await _not_found(uow.session, principal, ticket_id)
    return entry


async def get_ticket(uow: UnitOfWork, principal: Principal, ticket_id: uuid.UUID) -> TicketDetail:
    """A visible ticket with its metadata (and, for staff, its `sla` block), or 404."""
    detail = (await get_ticket_entry(uow, principal, ticket_id)).detail()
    if not principal.is_staff and detail.sla is not None:
        return detail.model_copy(update={"sla": None})
    return detail


async def get_ticket_document(
    uow: UnitOfWork, principal: Principal, ticket_id: uuid.UUID
) -> tuple[str, bytes]:
    """A visible ticket as GET sends it: its ETag and JSON body (the `sla` block for staff
    only), or 404."""
    entry = await get_ticket_entry(uow, principal, ticket_id)
    visibility = visible_tickets(principal)
    return entry.etag_for(visibility), entry.body_for(visibility)


async def lock_ticket_for_change(
    session: AsyncSession,
    principal: Principal,
    ticket_id: uuid.UUID,
    expected_version: int | None = None,
    *,
    closed_ok: bool = False,
    merging: Mapping[str, Any] | None = None,
) -> AnyRow:
    """Lock a visible, changeable ticket: 404 if unseen, 412 if stale, 409 if closed (unless
    ``closed_ok``: an admin's delete is the one change a closed ticket takes).

    With ``merging`` (the field changes of a PATCH), a stale version is accepted when none of
    those fields changed since it: edits of different fields merge, the same field conflicts."""
    row = await repository.lock_ticket(session, ticket_id, visible_tickets(principal))
    if row is None:
        raise await _not_found(session, principal, ticket_id)
    if expected_version is not None and row.version != expected_version:
        if merging is None or expected_version > row.version:
            raise PreconditionFailed(
                f"The ticket is at version {row.version}, not {expected_version}.",
                current_version=row.version,
            )
        await _refuse_conflicting_changes(session, row, merging, expected_version)
    if row.status == TicketStatus.closed.value and not closed_ok:
        raise TicketClosed()
    return row


def _plain(value: Any) -> Any:
    """A field value as the API spells it (enums by value, ids as strings)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


async def _refuse_conflicting_changes(
    session: AsyncSession, row: AnyRow, changes: Mapping[str, Any], version: int
) -> None:
    """412 naming each field of ``changes`` that someone else set to another value after
    ``version`` (both values); nothing when the change touches only other fields."""
    changed = await repository.fields_changed_since(session, row.id, version)
    conflicts = [
        {"field": field, "your_value": _plain(value), "current_value": _plain(getattr(row, field))}
        for field, value in changes.items()
        if field in changed and _plain(value) != _plain(getattr(row, field))
    ]
    if conflicts:
        names = ", ".join(c["field"] for c in conflicts)
        raise PreconditionFailed(
            f"The ticket is at version {row.version}, not {version}, and {names} changed since.",
            current_version=row.version,
            conflicts=conflicts,
        )


async def change_open_ticket(
    uow: UnitOfWork, principal: Principal, ticket_id: uuid.UUID
) -> uuid.UUID | None:
    """Lock a visible, open ticket and record that its conversation or metadata changes, in
    one statement: 404 if unseen, 409 if closed (the rules of :func:`lock_ticket_for_change`).
    Returns the mailbox that mails its public replies — the one it came from, else the default
    mailbox — if any."""
    visibility = visible_tickets(principal)
    row = await repository.touch_open_ticket(uow.session, ticket_id, visibility)
    if row is None:  # find out why (raises), or it was reopened meanwhile: touch it
        await lock_ticket_for_change(uow.session, principal, ticket_id)
        return await touch_ticket(uow, ticket_id)
    ticket_cache.invalidate_after_commit(uow, ticket_id, row.customer_id)
    mailbox_id: uuid.UUID | None = row.mailbox_id
    return mailbox_id


async def touch_ticket(uow: UnitOfWork, ticket_id: uuid.UUID) -> uuid.UUID | None:
    """Record that the ticket's metadata or conversation changed; the mailbox that mails its
    replies (its own, else the default one)."""
    row = await repository.touch_ticket(uow.session, ticket_id)
    ticket_cache.invalidate_after_commit(uow, ticket_id, None if row is None else row.customer_id)
    return None if row is None else row.mailbox_id


async def update_ticket(
    uow: UnitOfWork,
    principal: Principal,
    ticket_id: uuid.UUID,
    data: TicketUpdate,
    expected_version: int | None,
) -> AnyRow:
    """Apply a partial update (fields present in the body only)."""
    session = uow.session
    changes = {f: getattr(data, f) for f in data.model_fields_set}
    if principal.is_customer:
        forbidden = sorted(set(changes) - CUSTOMER_UPDATABLE)
        if forbidden:
            raise _forbid(forbidden)
    current = await lock_ticket_for_change(
        session, principal, ticket_id, expected_version, merging=changes
    )
    if principal.is_customer and "status" in changes:
        status = TicketStatus(current.status)
        if changes["status"] not in customer_status_choices(status):
            allowed = ", ".join(s.value for s in customer_status_choices(status) if s != status)
            raise StatusTransitionForbidden(
                f"Customers cannot change a {status.value} ticket to {changes['status'].value}"
                + (f"; allowed: {allowed}." if allowed else "."),
                errors=[
                    {
                        "loc": ["body", "status"],
                        "msg": "not allowed for customers",
                        "type": "forbidden",
                    }
                ],
            )
    if changes.get("assigned_to") is not None:
        await user_service.require_user_with_role(
            session, changes["assigned_to"], STAFF, "assigned_to"
        )
    if changes.get("team_id") is not None:
        await team_service.require_team(session, changes["team_id"])
    values = {k: (v.value if hasattr(v, "value") else v) for k, v in changes.items()}
    if "tags" in values:
        values["tags"] = normalize_tags(values["tags"])
    if not values:
        return current
    row = await repository.update_ticket(session, ticket_id, values)
    ticket_cache.invalidate_after_commit(uow, ticket_id, row.customer_id)
    return row


async def change_tag(
    uow: UnitOfWork,
    principal: Principal,
    ticket_id: uuid.UUID,
    tag: str,
    *,
    add: bool,
    expected_version: int | None = None,
) -> AnyRow:
    """Add or remove one tag (staff only); nothing changes when it is already so."""
    return await change_tags(
        uow, principal, ticket_id, [tag], add=add, expected_version=expected_version
    )


async def change_tags(
    uow: UnitOfWork,
    principal: Principal,
    ticket_id: uuid.UUID,
    tags: list[str],
    *,
    add: bool,
    expected_version: int | None = None,
) -> AnyRow:
    """Add or remove tags (staff only), the set kept sorted and unique."""
    if principal.is_customer:
        raise _forbid(["tags"])
    current = await lock_ticket_for_change(uow.session, principal, ticket_id, expected_version)
    after = set(current.tags) | set(tags) if add else set(current.tags) - set(tags)
    if sorted(after) == list(current.tags):
        return current
    if len(after) > MAX_TAGS:
        raise ValidationFailed(
            f"A ticket has at most {MAX_TAGS} tags.",
            errors=[
                {"loc": ["path", "tag"], "msg": f"at most {MAX_TAGS} tags", "type": "too_many"}
            ],
        )
    # The row is locked: the new set computed here is the one stored.
    row = await repository.update_ticket(uow.session, ticket_id, {"tags": sorted(after)})
    ticket_cache.invalidate_after_commit(uow, ticket_id, row.customer_id)
    return row


async def delete_ticket(
    uow: UnitOfWork, principal: Principal, ticket_id: uuid.UUID, expected_version: int | None
) -> None:
    """Soft-delete: staff only; a closed ticket only by an admin."""
    if principal.is_customer:
        raise PermissionDenied("Customers cannot delete tickets.")
    row = await lock_ticket_for_change(
        uow.session, principal, ticket_id, expected_version, closed_ok=principal.is_admin
    )
    await repository.soft_delete_ticket(uow.session, ticket_id)
    ticket_cache.invalidate_after_commit(uow, ticket_id, row.customer_id)


async def list_tickets(
    session: AsyncSession,
    principal: Principal,
    filters: TicketFilters,
    sort: TicketSort,
    limit: int,
    cursor: str | None,
    cursor_secret: bytes,
) -> KeysetPage[AnyRow]:
    """One keyset page of visible tickets (staff rows carry their `sla` block, customer and
    whether they are unread for the caller)."""
    _refuse_sla_for_customers(principal, filters, sort)
    keyset = TICKET_KEYSETS[sort]
    after = keyset.after(cursor_secret, cursor)
    rows = await repository.list_tickets(
        session, visible_tickets(principal), filters, sort, limit, after, _reader(principal)
    )
    return keyset.page(cursor_secret, rows, limit)


def ticket_cursor(
    cursor_secret: bytes, sort: TicketSort, row: AnyRow | TicketRead | TicketListItem
) -> str:
    """The cursor that continues a ticket list after ``row`` (what ``list_tickets`` returns)."""
    return TICKET_KEYSETS[sort].cursor(cursor_secret, row)


async def list_tickets_document(
    uow: UnitOfWork,
    principal: Principal,
    filters: TicketFilters,
    sort: TicketSort,
    limit: int,
    cursor: str | None,
    cursor_secret: bytes,
) -> ListDocument:
    """One list page (objects, and the JSON REST sends with its ETag), cached per visibility
    and normalized query."""
    # Decode the cursor first: a bad cursor is a 400 whether or not the page is cached.
    _refuse_sla_for_customers(principal, filters, sort)
    TICKET_KEYSETS[sort].after(cursor_secret, cursor)

    async def load() -> Page[TicketListItem] | Page[TicketRead]:
        page = await uow.read(
            lambda s: list_tickets(s, principal, filters, sort, limit, cursor, cursor_secret)
        )
        if not principal.is_staff:  # no `sla` key at all: it is not theirs to see
            return Page[TicketRead].of(
                [TicketRead.model_validate(r) for r in page.rows], page.next_cursor
            )
        return Page[TicketListItem].of(
            [TicketListItem.model_validate(r) for r in page.rows], page.next_cursor
        )

    cache = ticket_cache.of(uow)
    if cache is None:
        return await ticket_cache.render_list(uow, load)
    query = "|".join((filters.model_dump_json(), sort.value, str(limit), cursor or ""))
    # A staff page carries the caller's own `unread` flags: cached for them alone.
    return await cache.get_list(
        uow, visible_tickets(principal), query, load, reader=_reader(principal)
    )


async def count_tickets_document(
    uow: UnitOfWork, principal: Principal, filters: TicketFilters
) -> ListDocument:
    """Visible tickets per status under the other filters (exact up to ``COUNT_CAP``), with
    its ETag, cached like a list page (same visibility key, same invalidation)."""
    _refuse_sla_for_customers(principal, filters)
    visibility = visible_tickets(principal)

    async def load() -> TicketCounts:
        counts = await uow.read(
            lambda s: repository.count_by_status(s, visibility, filters, COUNT_CAP)
        )
        return TicketCounts(
            by="status",
            cap=COUNT_CAP,
            counts=[
                StatusCount(status=TicketStatus(k), count=min(n, COUNT_CAP), capped=n > COUNT_CAP)
                for k, n in counts.items()
            ],
        )

    cache = ticket_cache.of(uow)
    if cache is None:
        return await ticket_cache.render_list(uow, load)
    query = "|".join(("counts:status", filters.model_dump_json(), str(COUNT_CAP)))
    return await cache.get_list(uow, visibility, query, load)


async def invalidate_from_worker(
    session: AsyncSession, ticket_id: uuid.UUID, customer_id: uuid.UUID | None
) -> None:
    """A change made where no cache is reachable (the worker's rules): recorded in the
    invalidation outbox in the same transaction; every API process delivers it within a
    second (ticket.cache.InvalidationOutbox), so none serves the old ticket from Redis."""
    await repository.record_lost_invalidations(session, {ticket_id: customer_id})


async def search_tickets(
    uow: UnitOfWork, principal: Principal, q: str, scope: SearchScope, limit: int
) -> SearchResults:
    """The visible tickets best matching ``q`` (title, description, number and/or messages),
    ranked, each with an excerpt of its best match; customers match their own tickets' public
    messages only. Not cached: a search is rarely repeated, and always current."""
    rows = await uow.read(
        lambda s: repository.search_tickets(
            s, visible_tickets(principal), q, scope, limit, SEARCH_CAP
        )
    )
    found, capped = (rows[0].found, rows[0].capped) if rows else (0, False)
    hits = [
        SearchHit(
            ticket_id=row.id,
            number=row.number,
            title=row.title,
            status=row.status,
            priority=row.priority,
            updated_at=row.updated_at,
            rank=round(float(row.rank), 6),
            message_id=row.message_id,
            message_at=row.message_at,
            internal=bool(row.is_internal),
            excerpt=excerpt_parts(row.excerpt),
        )
        for row in rows
    ]
    meta = SearchMeta(q=q, scope=scope, limit=limit, found=found, capped=capped)
    return SearchResults(data=hits, meta=meta)


def excerpt_parts(headline: str) -> list[ExcerptPart]:
    """ts_headline's text with private-use markers → runs of plain text, matched or not."""
    parts: list[ExcerptPart] = []
    for index, chunk in enumerate(headline.split(repository.HIGHLIGHT_START)):
        text, marked = chunk, ""
        if index:  # a chunk after a start marker: the match runs up to the stop marker
            marked, _, text = chunk.partition(repository.HIGHLIGHT_STOP)
        if marked:
            parts.append(ExcerptPart(text=marked, match=True))
        if text:
            parts.append(ExcerptPart(text=text, match=False))
    return parts


async def invalidate_sla_from_worker(
    session: AsyncSession, ticket_ids: Sequence[uuid.UUID]
) -> None:
    """The SLA worker changed these tickets' `sla` blocks: drop their cached staff views (and
    the staff list pages) through the invalidation outbox, in the worker's transaction.
    Customers' views hold no `sla` block, so their list pages stay."""
    await repository.record_lost_invalidations(session, dict.fromkeys(ticket_ids))
