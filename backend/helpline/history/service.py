"""Ticket history: the field-level changes database triggers record, read as pages.

Customers see only the public part of their own tickets' history (the rule lives in
:mod:`helpline.ticket.access`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.principal import Principal
from helpline.db import UnitOfWork
from helpline.history import repository
from helpline.history.schemas import HistoryEntryRead
from helpline.kit.pagination import Keyset, KeysetPage
from helpline.ticket import service as ticket_service
from helpline.ticket.access import public_fields, visible_tickets

HISTORY_CURSOR = "history"


def _one_id(values: list[Any]) -> int:
    (ident,) = values
    return int(ident)


# A ticket's history, oldest first (by id).
HISTORY_KEYSET: Keyset[Any, int] = Keyset(HISTORY_CURSOR, lambda r: [r.id], _one_id)
HistoryPage = KeysetPage[HistoryEntryRead]


def _public_entry(entry: HistoryEntryRead) -> HistoryEntryRead:
    if entry.change_type == "created" and isinstance(entry.new_value, dict):
        return entry.model_copy(update={"new_value": public_fields(entry.new_value)})
    return entry


async def list_history(
    uow: UnitOfWork,
    principal: Principal,
    ticket_id: uuid.UUID,
    *,
    change_set_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
    cursor_secret: bytes,
) -> HistoryPage:
    """One page of a visible ticket's history; customers see only its public part."""
    session = uow.session
    await ticket_service.get_ticket(uow, principal, ticket_id)  # 404 unless visible
    after_id = HISTORY_KEYSET.after(cursor_secret, cursor)
    public_only = not visible_tickets(principal).sees_internal
    rows = await repository.list_history(
        session,
        ticket_id,
        public_only=public_only,
        change_set_id=change_set_id,
        after_id=after_id,
        limit=limit,
    )
    page = HISTORY_KEYSET.page(cursor_secret, rows, limit)
    entries = [HistoryEntryRead.model_validate(r) for r in page.rows]
    if public_only:
        entries = [_public_entry(e) for e in entries]
    return KeysetPage(entries, page.next_cursor)


async def history_of_tickets(
    session: AsyncSession,
    principal: Principal,
    ticket_ids: list[uuid.UUID],
    per_ticket: int,
    cursor_secret: bytes,
) -> dict[uuid.UUID, HistoryPage]:
    """The first history page of many tickets the caller has already been shown (GraphQL
    DataLoaders), in one query; customers see only the public part, as in ``list_history``."""
    visibility = visible_tickets(principal)
    public_only = not visibility.sees_internal
    # Visibility is applied in the query too: a ticket the caller may not see gets an empty page.
    rows = await repository.first_history_pages(session, ticket_ids, visibility, per_ticket + 1)
    grouped: dict[uuid.UUID, list[HistoryEntryRead]] = {t: [] for t in ticket_ids}
    for row in rows:
        entry = HistoryEntryRead.model_validate(row)
        grouped[row.ticket_id].append(_public_entry(entry) if public_only else entry)
    return {
        ticket_id: HISTORY_KEYSET.page(cursor_secret, entries, per_ticket)
        for ticket_id, entries in grouped.items()
    }


def history_cursor(cursor_secret: bytes, entry: HistoryEntryRead) -> str:
    """The cursor that continues a ticket's history after ``entry``."""
    return HISTORY_KEYSET.cursor(cursor_secret, entry)
