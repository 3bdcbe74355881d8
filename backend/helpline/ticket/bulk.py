"""Bulk changes: the same change on many tickets in one request, with a result per ticket.

Each ticket is checked as a single PATCH would be (visible, not closed, the tag limit) and then
changed by one UPDATE, so a ticket is changed wholly or not at all; tickets that fail are
reported and leave the others alone. The tickets are locked in one statement, in id order
(concurrent bulk changes queue instead of deadlocking). History, audit and the change feed come
from the same triggers as any update: a bulk change is, ticket by ticket, an ordinary one.
"""

from __future__ import annotations

import uuid
from typing import Any

from helpline.auth.principal import Principal
from helpline.db import UnitOfWork
from helpline.errors import PermissionDenied, ValidationFailed
from helpline.kit.rows import AnyRow
from helpline.models.enums import TicketStatus
from helpline.team import service as team_service
from helpline.ticket import cache as ticket_cache
from helpline.ticket import repository
from helpline.ticket.access import visible_tickets
from helpline.ticket.schemas import (
    MAX_TAGS,
    BulkOutcome,
    BulkProblem,
    TicketBulkChanges,
    TicketBulkItem,
    TicketBulkResult,
    TicketBulkUpdate,
    TicketRead,
)
from helpline.ticket.service import STAFF
from helpline.user import service as user_service

STAFF_FIELDS = ("status", "priority", "assigned_to", "team_id")


def _invalid(field: str, msg: str, kind: str = "value_error") -> ValidationFailed:
    return ValidationFailed(
        f"changes.{field}: {msg}.",
        errors=[{"loc": ["body", "changes", field], "msg": msg, "type": kind}],
    )


async def _check_request(uow: UnitOfWork, data: TicketBulkUpdate) -> None:
    """Refuse the whole request (422) for what is wrong with every ticket alike."""
    if len(set(data.ticket_ids)) != len(data.ticket_ids):
        raise ValidationFailed(
            "ticket_ids lists a ticket twice.",
            errors=[{"loc": ["body", "ticket_ids"], "msg": "duplicate id", "type": "unique"}],
        )
    changes = data.changes
    given = changes.model_fields_set
    if not (given & set(STAFF_FIELDS)) and not changes.add_tags and not changes.remove_tags:
        raise ValidationFailed(
            "changes is empty: give at least one field.",
            errors=[{"loc": ["body", "changes"], "msg": "nothing to change", "type": "empty"}],
        )
    for field in ("status", "priority"):
        if field in given and getattr(changes, field) is None:
            raise _invalid(field, "may not be null", "null")
    both = sorted(set(changes.add_tags) & set(changes.remove_tags))
    if both:
        raise _invalid("remove_tags", f"also added: {', '.join(both)}", "conflict")
    if changes.assigned_to is not None:
        await user_service.require_user_with_role(
            uow.session, changes.assigned_to, STAFF, "changes.assigned_to"
        )
    if changes.team_id is not None:
        await team_service.require_team(uow.session, changes.team_id, "changes.team_id")


def _values(changes: TicketBulkChanges, current: AnyRow) -> dict[str, Any]:
    """The columns that change on ``current`` (nothing for a ticket that is already so)."""
    values: dict[str, Any] = {}
    for field in STAFF_FIELDS:
        if field in changes.model_fields_set:
            value = getattr(changes, field)
            value = value.value if hasattr(value, "value") else value
            if value != getattr(current, field):
                values[field] = value
    tags = (set(current.tags) | set(changes.add_tags)) - set(changes.remove_tags)
    if sorted(tags) != list(current.tags):
        values["tags"] = sorted(tags)
    return values


def _failed(ticket_id: uuid.UUID, outcome: BulkOutcome, problem: BulkProblem) -> TicketBulkItem:
    return TicketBulkItem(ticket_id=ticket_id, outcome=outcome, ticket=None, problem=problem)


NOT_FOUND = BulkProblem(
    type="/problems/ticket-not-found",
    title="Ticket not found",
    status=404,
    detail="The ticket does not exist, is deleted, or is not visible to you.",
)
CLOSED = BulkProblem(
    type="/problems/ticket-closed",
    title="Ticket is closed",
    status=409,
    detail="A closed ticket is terminal: it cannot be changed.",
)
TOO_MANY_TAGS = BulkProblem(
    type="/problems/validation-failed",
    title="Validation failed",
    status=422,
    detail=f"A ticket has at most {MAX_TAGS} tags.",
)


async def bulk_update_tickets(
    uow: UnitOfWork, principal: Principal, data: TicketBulkUpdate
) -> TicketBulkResult:
    """Apply one change to many tickets (staff only): a result per ticket, in request order."""
    if principal.is_customer:
        raise PermissionDenied("Customers cannot change tickets in bulk.")
    await _check_request(uow, data)
    session = uow.session
    locked = await repository.lock_tickets(session, data.ticket_ids, visible_tickets(principal))
    results: dict[uuid.UUID, TicketBulkItem] = {}
    for ticket_id in sorted(data.ticket_ids):
        current = locked.get(ticket_id)
        if current is None:
            results[ticket_id] = _failed(ticket_id, BulkOutcome.not_found, NOT_FOUND)
            continue
        if current.status == TicketStatus.closed.value:
            results[ticket_id] = _failed(ticket_id, BulkOutcome.conflict, CLOSED)
            continue
        values = _values(data.changes, current)
        if len(values.get("tags", ())) > MAX_TAGS:
            results[ticket_id] = _failed(ticket_id, BulkOutcome.invalid, TOO_MANY_TAGS)
            continue
        if not values:
            results[ticket_id] = TicketBulkItem(
                ticket_id=ticket_id,
                outcome=BulkOutcome.unchanged,
                ticket=TicketRead.model_validate(current),
                problem=None,
            )
            continue
        row = await repository.update_ticket(session, ticket_id, values)
        ticket_cache.invalidate_after_commit(uow, ticket_id, row.customer_id)
        results[ticket_id] = TicketBulkItem(
            ticket_id=ticket_id,
            outcome=BulkOutcome.updated,
            ticket=TicketRead.model_validate(row),
            problem=None,
        )
    ordered = [results[t] for t in data.ticket_ids]
    updated = sum(1 for r in ordered if r.outcome == BulkOutcome.updated)
    failed = sum(1 for r in ordered if r.problem is not None)
    return TicketBulkResult(updated=updated, failed=failed, results=ordered)
