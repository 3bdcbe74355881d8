"""Ticket rules: visibility, who may change what, closed-is-terminal, optimistic locking."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.principal import Principal
from helpline.db import end_read, run_read
from helpline.errors import (
    InvalidCursorError,
    PermissionDenied,
    PreconditionFailed,
    StatusTransitionForbidden,
    TicketClosed,
    TicketNotFound,
    ValidationFailed,
)
from helpline.kit.cursor import InvalidCursor, decode_keyset, encode_cursor
from helpline.kit.ids import new_id
from helpline.kit.pagination import Page
from helpline.kit.rows import AnyRow
from helpline.models.enums import Role, TicketStatus
from helpline.ticket import cache as ticket_cache
from helpline.ticket import repository
from helpline.ticket.access import TicketVisibility, visible_tickets
from helpline.ticket.cache import ListDocument, TicketEntry
from helpline.ticket.schemas import (
    COUNT_CAP,
    StatusCount,
    TicketCounts,
    TicketCreate,
    TicketDetail,
    TicketFilters,
    TicketRead,
    TicketSort,
    TicketUpdate,
)
from helpline.user import service as user_service

STAFF = {Role.agent, Role.admin}
STAFF_ONLY_FIELDS = ("status", "priority", "assigned_to", "customer_id")
CUSTOMER_UPDATABLE = {"title", "description", "status"}


def customer_status_choices(current: TicketStatus) -> tuple[TicketStatus, ...]:
    """The statuses a customer may give their ticket from ``current`` (itself included).

    A customer marks their ticket solved, and reopens a solved one; waiting states (pending,
    on hold) and closing are the agents' decisions, and closed is terminal for everyone."""
    if current is TicketStatus.closed:
        return (current,)
    if current is TicketStatus.solved:
        return (TicketStatus.open, TicketStatus.solved)
    return (current, TicketStatus.solved)


@dataclass(frozen=True, slots=True)
class TicketPage:
    rows: list[AnyRow]
    next_cursor: str | None


def _forbid(fields: list[str]) -> PermissionDenied:
    return PermissionDenied(
        "Customers cannot set " + ", ".join(fields) + ".",
        errors=[
            {"loc": ["body", f], "msg": "not allowed for customers", "type": "forbidden"}
            for f in fields
        ],
    )


async def create_ticket(session: AsyncSession, principal: Principal, data: TicketCreate) -> AnyRow:
    """Create a ticket; customers create their own, staff name the customer."""
    given = data.model_fields_set
    if principal.is_customer:
        forbidden = [f for f in STAFF_ONLY_FIELDS if f in given]
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
    values = {
        "id": new_id(),
        "title": data.title,
        "description": data.description,
        "status": data.status.value,
        "priority": data.priority.value,
        "assigned_to": data.assigned_to,
        "customer_id": customer_id,
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
    ticket_cache.invalidate_after_commit(session, row.id, row.customer_id)
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


async def get_ticket_entry(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID
) -> TicketEntry:
    """A visible ticket as GET renders it (read through the cache), or 404."""
    cache = ticket_cache.current()
    visibility = visible_tickets(principal)
    if cache is not None:
        entry = await cache.get_ticket(session, ticket_id, visibility)
    else:
        row = await run_read(session, lambda s: repository.get_ticket(s, ticket_id, visibility))
        entry = None if row is None else TicketEntry.from_row(row)
    if entry is None:
        raise await _not_found(session, principal, ticket_id)
    return entry


async def get_ticket(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID
) -> TicketDetail:
    """A visible ticket with its metadata, or 404."""
    return (await get_ticket_entry(session, principal, ticket_id)).detail()


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
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID
) -> None:
    """Lock a visible, open ticket and record that its conversation or metadata changes, in
    one statement: 404 if unseen, 409 if closed (the rules of :func:`lock_ticket_for_change`)."""
    customer_id = await repository.touch_open_ticket(session, ticket_id, visible_tickets(principal))
    if customer_id is None:  # find out why (raises), or it was reopened meanwhile: touch it
        await lock_ticket_for_change(session, principal, ticket_id)
        await touch_ticket(session, ticket_id)
        return
    ticket_cache.invalidate_after_commit(session, ticket_id, customer_id)


async def touch_ticket(session: AsyncSession, ticket_id: uuid.UUID) -> None:
    """Record that the ticket's metadata or conversation changed."""
    customer_id = await repository.touch_ticket(session, ticket_id)
    ticket_cache.invalidate_after_commit(session, ticket_id, customer_id)


async def update_ticket(
    session: AsyncSession,
    principal: Principal,
    ticket_id: uuid.UUID,
    data: TicketUpdate,
    expected_version: int | None,
) -> AnyRow:
    """Apply a partial update (fields present in the body only)."""
    changes = {f: getattr(data, f) for f in data.model_fields_set}
    for field in ("title", "description", "status", "priority"):
        if field in changes and changes[field] is None:
            raise ValidationFailed(
                f"{field} cannot be null.",
                errors=[{"loc": ["body", field], "msg": "may not be null", "type": "null"}],
            )
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
    values = {k: (v.value if hasattr(v, "value") else v) for k, v in changes.items()}
    if not values:
        return current
    row = await repository.update_ticket(session, ticket_id, values)
    ticket_cache.invalidate_after_commit(session, ticket_id, row.customer_id)
    return row


async def delete_ticket(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, expected_version: int | None
) -> None:
    """Soft-delete: staff only; a closed ticket only by an admin."""
    if principal.is_customer:
        raise PermissionDenied("Customers cannot delete tickets.")
    row = await lock_ticket_for_change(
        session, principal, ticket_id, expected_version, closed_ok=principal.is_admin
    )
    await repository.soft_delete_ticket(session, ticket_id)
    ticket_cache.invalidate_after_commit(session, ticket_id, row.customer_id)


async def list_tickets(
    session: AsyncSession,
    principal: Principal,
    filters: TicketFilters,
    sort: TicketSort,
    limit: int,
    cursor: str | None,
    cursor_secret: bytes,
) -> TicketPage:
    """One keyset page of visible tickets."""
    after: tuple[datetime, uuid.UUID] | None = None
    if cursor:
        try:
            after = decode_keyset(cursor_secret, sort.value, cursor, uuid.UUID)
        except InvalidCursor as exc:
            raise InvalidCursorError(str(exc)) from exc
    rows = await repository.list_tickets(
        session, visible_tickets(principal), filters, sort, limit, after
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        key = (
            last.updated_at
            if sort in (TicketSort.updated_desc, TicketSort.updated_asc)
            else last.created_at
        )
        next_cursor = encode_cursor(cursor_secret, sort.value, [key.isoformat(), str(last.id)])
    return TicketPage(rows=rows, next_cursor=next_cursor)


def ticket_cursor(cursor_secret: bytes, sort: TicketSort, row: AnyRow | TicketRead) -> str:
    """The cursor that continues a ticket list after ``row`` (what ``list_tickets`` returns)."""
    updated = sort in (TicketSort.updated_desc, TicketSort.updated_asc)
    key = row.updated_at if updated else row.created_at
    return encode_cursor(cursor_secret, sort.value, [key.isoformat(), str(row.id)])


async def list_tickets_document(
    session: AsyncSession,
    principal: Principal,
    filters: TicketFilters,
    sort: TicketSort,
    limit: int,
    cursor: str | None,
    cursor_secret: bytes,
) -> ListDocument:
    """One rendered list page with its ETag, cached per visibility and normalized query."""
    # Decode the cursor first: a bad cursor is a 400 whether or not the page is cached.
    if cursor:
        try:
            decode_keyset(cursor_secret, sort.value, cursor, uuid.UUID)
        except InvalidCursor as exc:
            raise InvalidCursorError(str(exc)) from exc

    async def render() -> bytes:
        page = await run_read(
            session,
            lambda s: list_tickets(s, principal, filters, sort, limit, cursor, cursor_secret),
        )
        await end_read(session)  # the connection goes back before the body is built
        return (
            Page[TicketRead]
            .of([TicketRead.model_validate(r) for r in page.rows], page.next_cursor)
            .model_dump_json()
            .encode()
        )

    cache = ticket_cache.current()
    if cache is None:
        return ListDocument.of(await render())
    query = "|".join((filters.model_dump_json(), sort.value, str(limit), cursor or ""))
    return await cache.get_list(session, visible_tickets(principal), query, render)


async def count_tickets_document(
    session: AsyncSession, principal: Principal, filters: TicketFilters
) -> ListDocument:
    """Visible tickets per status under the other filters (exact up to ``COUNT_CAP``), with
    its ETag, cached like a list page (same visibility key, same invalidation)."""
    visibility = visible_tickets(principal)

    async def render() -> bytes:
        counts = await run_read(
            session, lambda s: repository.count_by_status(s, visibility, filters, COUNT_CAP)
        )
        await end_read(session)
        return (
            TicketCounts(
                by="status",
                cap=COUNT_CAP,
                counts=[
                    StatusCount(status=s, count=min(n, COUNT_CAP), capped=n > COUNT_CAP)
                    for s, n in ((TicketStatus(k), v) for k, v in counts.items())
                ],
            )
            .model_dump_json()
            .encode()
        )

    cache = ticket_cache.current()
    if cache is None:
        return ListDocument.of(await render())
    query = "|".join(("counts:status", filters.model_dump_json(), str(COUNT_CAP)))
    return await cache.get_list(session, visibility, query, render)
