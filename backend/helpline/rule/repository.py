"""All SQL for rules, their execution log and the feed cursor."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.feed import settled_events_after
from helpline.kit.rows import AnyRow
from helpline.models import Rule, RuleExecution, RuleTimer


async def insert_rule(session: AsyncSession, values: dict[str, Any]) -> bool:
    """False when the name is taken."""
    try:
        async with session.begin_nested():
            await session.execute(insert(Rule).values(**values))
    except IntegrityError:
        return False
    return True


async def get_rule(session: AsyncSession, rule_id: uuid.UUID) -> Rule | None:
    stmt = select(Rule).where(Rule.id == rule_id).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_rule_by_name(session: AsyncSession, name: str) -> Rule | None:
    stmt = select(Rule).where(func.lower(Rule.name) == name.lower())
    return (
        await session.execute(stmt.execution_options(populate_existing=True))
    ).scalar_one_or_none()


async def list_rules(session: AsyncSession, *, enabled_only: bool = False) -> list[Rule]:
    stmt = select(Rule).order_by(Rule.position, Rule.id)
    if enabled_only:
        stmt = stmt.where(Rule.enabled.is_(True))
    return list((await session.execute(stmt.execution_options(populate_existing=True))).scalars())


async def update_rule(session: AsyncSession, rule_id: uuid.UUID, values: dict[str, Any]) -> bool:
    try:
        async with session.begin_nested():
            await session.execute(update(Rule).where(Rule.id == rule_id).values(**values))
    except IntegrityError:
        return False
    return True


async def delete_rule(session: AsyncSession, rule_id: uuid.UUID) -> bool:
    result = await session.execute(delete(Rule).where(Rule.id == rule_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def list_executions(
    session: AsyncSession, rule_id: uuid.UUID, before_id: int | None, limit: int
) -> list[RuleExecution]:
    stmt = (
        select(RuleExecution)
        .where(RuleExecution.rule_id == rule_id)
        .order_by(RuleExecution.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        stmt = stmt.where(RuleExecution.id < before_id)
    return list((await session.execute(stmt)).scalars())


async def claim_execution(
    session: AsyncSession, rule_id: uuid.UUID, event_id: int, ticket_id: uuid.UUID, depth: int
) -> int | None:
    """The execution's log row, or None when this (rule, event) was executed already (by this
    worker before a restart, or by another): the unique index makes it happen once. A second
    worker racing for the same pair waits here for the first one's commit."""
    stmt = (
        pg_insert(RuleExecution)
        .values(
            rule_id=rule_id, event_id=event_id, ticket_id=ticket_id, depth=depth, status="applied"
        )
        .on_conflict_do_nothing(index_elements=["rule_id", "event_id"])
        .returning(RuleExecution.id)
    )
    return (await session.execute(stmt)).scalar()


async def finish_execution(
    session: AsyncSession, execution_id: int, status: str, effects: list[Any], reason: str | None
) -> None:
    await session.execute(
        update(RuleExecution)
        .where(RuleExecution.id == execution_id)
        .values(status=status, effects=effects, reason=reason)
    )


async def log_execution(session: AsyncSession, values: dict[str, Any]) -> None:
    """A log row for an execution that did not run (skipped, failed): once per (rule, event)
    or (rule, ticket, timer basis)."""
    await session.execute(pg_insert(RuleExecution).values(**values).on_conflict_do_nothing())


async def ran_for_ticket(
    session: AsyncSession, rule_id: uuid.UUID, ticket_id: uuid.UUID, execution_id: int
) -> bool:
    """Whether the rule applied to the ticket before (other than in ``execution_id``, the
    execution being run, whose claimed row reads 'applied' until it finishes)."""
    stmt = text(
        "SELECT EXISTS (SELECT 1 FROM rule_executions WHERE rule_id = :r AND ticket_id = :t"
        " AND status = 'applied' AND id <> :x)"
    )
    params = {"r": rule_id, "t": ticket_id, "x": execution_id}
    return bool((await session.execute(stmt, params)).scalar())


async def executions_since(session: AsyncSession, rule_id: uuid.UUID, since: datetime) -> int:
    stmt = text(
        "SELECT count(*) FROM rule_executions WHERE rule_id = :r AND executed_at >= :since"
        " AND status = 'applied'"
    )
    return int((await session.execute(stmt, {"r": rule_id, "since": since})).scalar() or 0)


async def disable_rule(session: AsyncSession, rule_id: uuid.UUID, reason: str) -> None:
    await session.execute(
        update(Rule).where(Rule.id == rule_id).values(enabled=False, disabled_reason=reason)
    )
    await drop_timers(session, rule_id)


async def drop_timers(session: AsyncSession, rule_id: uuid.UUID) -> None:
    """A disabled rule's timers go (they would lie in the due range unread); re-enabling it
    changes the rule, and its timers are built again."""
    await session.execute(delete(RuleTimer).where(RuleTimer.rule_id == rule_id))


# The feed cursor and its lease --------------------------------------------------------------
async def claim_cursor(
    session: AsyncSession, owner: str, now: datetime, lease_seconds: float
) -> AnyRow | None:
    """Take or renew the lease (None: another worker holds it); the position."""
    stmt = text(
        "UPDATE rule_feed_cursor SET lease_owner = :owner,"
        " lease_until = CAST(:now AS timestamptz) + make_interval(secs => :secs)"
        " WHERE id = 1 AND (lease_owner IS NULL OR lease_owner = :owner"
        "  OR lease_until < CAST(:now AS timestamptz))"
        " RETURNING xid, event_id"
    )
    return (
        await session.execute(stmt, {"owner": owner, "now": now, "secs": lease_seconds})
    ).first()


async def advance_cursor(session: AsyncSession, owner: str, xid: int, event_id: int) -> bool:
    """Move the position (only while holding the lease); False when the lease was lost."""
    stmt = text(
        "UPDATE rule_feed_cursor SET xid = :xid, event_id = :event_id"
        " WHERE id = 1 AND lease_owner = :owner AND (xid, event_id) < (:xid, :event_id)"
        " RETURNING 1"
    )
    result = await session.execute(stmt, {"owner": owner, "xid": xid, "event_id": event_id})
    return result.first() is not None


async def release_cursor(session: AsyncSession, owner: str) -> None:
    await session.execute(
        text(
            "UPDATE rule_feed_cursor SET lease_owner = NULL, lease_until = NULL"
            " WHERE id = 1 AND lease_owner = :owner"
        ),
        {"owner": owner},
    )


async def next_events(session: AsyncSession, xid: int, event_id: int, limit: int) -> list[AnyRow]:
    """Settled feed events after the position (ADR 0012's horizon), in feed order."""
    return await settled_events_after(
        session,
        (xid, event_id),
        limit,
        columns="e.id, e.xid, e.type, e.ticket_id, e.internal, e.request_id, e.data",
    )


FACTS = (
    "SELECT t.id, t.number, t.title, t.description, t.status, t.priority, t.assigned_to,"
    " t.team_id, t.customer_id, t.mailbox_id, t.tags, t.created_at, t.deleted_at,"
    " coalesce((SELECT jsonb_object_agg(m.key, m.value) FROM ticket_metadata m"
    "  WHERE m.ticket_id = t.id), '{}'::jsonb) AS metadata"
    " FROM tickets t"
)


async def ticket_facts(session: AsyncSession, ticket_id: uuid.UUID) -> AnyRow | None:
    """A ticket (live or not) with its metadata, as conditions see it."""
    return (await session.execute(text(FACTS + " WHERE t.id = :id"), {"id": ticket_id})).first()


async def ticket_facts_many(
    session: AsyncSession, ticket_ids: list[uuid.UUID]
) -> dict[uuid.UUID, AnyRow]:
    """:func:`ticket_facts` of many tickets in one statement."""
    if not ticket_ids:
        return {}
    stmt = text(FACTS + " WHERE t.id = ANY(CAST(:ids AS uuid[]))")
    return {row.id: row for row in await session.execute(stmt, {"ids": ticket_ids})}


async def recent_tickets(session: AsyncSession, limit: int) -> list[uuid.UUID]:
    stmt = text(
        "SELECT id FROM tickets WHERE deleted_at IS NULL ORDER BY updated_at DESC, id DESC"
        " LIMIT :limit"
    )
    return list((await session.execute(stmt, {"limit": limit})).scalars())


# Rate: one counter per rule and clock hour ---------------------------------------------------
async def count_execution(session: AsyncSession, rule_id: uuid.UUID, hour: datetime) -> int:
    """Count one applied execution in ``hour``; the count of that hour so far. One statement
    (not a count of the last hour's log rows); it is the execution's last, so the rule's row
    lock is held only until the commit."""
    stmt = text(
        "INSERT INTO rule_state AS s (rule_id, rate_hour, rate_count) VALUES (:r, :h, 1)"
        " ON CONFLICT (rule_id) DO UPDATE SET"
        "  rate_count = CASE WHEN s.rate_hour = :h THEN s.rate_count + 1 ELSE 1 END,"
        "  rate_hour = :h"
        " RETURNING rate_count"
    )
    return int((await session.execute(stmt, {"r": rule_id, "h": hour})).scalar_one())


# Time rules: their timers, a due-time index -------------------------------------------------
TIMES = (
    "SELECT t.id, t.created_at AS created, t.updated_at AS updated,"
    " coalesce((SELECT h.timestamp FROM ticket_history h WHERE h.ticket_id = t.id"
    "  AND h.change_type = 'status_changed' ORDER BY h.id DESC LIMIT 1), t.created_at)"
    "  AS status_changed,"
    " coalesce((SELECT h.timestamp FROM ticket_history h WHERE h.ticket_id = t.id"
    "  AND h.change_type = 'assignee_changed' ORDER BY h.id DESC LIMIT 1), t.created_at)"
    "  AS assignee_changed,"
    " coalesce((SELECT c.timestamp FROM conversations c WHERE c.ticket_id = t.id"
    "  AND c.sender_type = 'customer' AND NOT c.is_internal"
    "  ORDER BY c.timestamp DESC, c.id DESC LIMIT 1), t.created_at) AS customer_message,"
    " (SELECT c.timestamp FROM conversations c WHERE c.ticket_id = t.id"
    "  AND c.sender_type = 'agent' AND NOT c.is_internal"
    "  ORDER BY c.timestamp DESC, c.id DESC LIMIT 1) AS agent_reply"
    " FROM tickets t WHERE t.id = ANY(CAST(:ids AS uuid[]))"
)


async def ticket_times_many(
    session: AsyncSession, ticket_ids: list[uuid.UUID]
) -> dict[uuid.UUID, AnyRow]:
    """The instants time conditions count from, per ticket (one statement; each clock is one
    probe of the ticket's history or conversation index)."""
    if not ticket_ids:
        return {}
    return {row.id: row for row in await session.execute(text(TIMES), {"ids": ticket_ids})}


async def timers_of(
    session: AsyncSession, rule_ids: list[uuid.UUID], ticket_ids: list[uuid.UUID]
) -> dict[tuple[uuid.UUID, uuid.UUID], AnyRow]:
    if not rule_ids or not ticket_ids:
        return {}
    stmt = text(
        "SELECT rule_id, ticket_id, basis, due_at FROM rule_timers"
        " WHERE rule_id = ANY(CAST(:r AS uuid[])) AND ticket_id = ANY(CAST(:t AS uuid[]))"
    )
    rows = await session.execute(stmt, {"r": rule_ids, "t": ticket_ids})
    return {(row.rule_id, row.ticket_id): row for row in rows}


async def set_timers(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Upsert (rule_id, ticket_id, basis, due_at) rows in one statement."""
    if not rows:
        return
    stmt = pg_insert(RuleTimer).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["rule_id", "ticket_id"],
        set_={"basis": stmt.excluded.basis, "due_at": stmt.excluded.due_at},
    )
    await session.execute(stmt)


async def delete_timers(session: AsyncSession, keys: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
    if not keys:
        return
    stmt = text(
        "DELETE FROM rule_timers t USING unnest(CAST(:r AS uuid[]), CAST(:k AS uuid[]))"
        " AS d(rule_id, ticket_id) WHERE t.rule_id = d.rule_id AND t.ticket_id = d.ticket_id"
    )
    await session.execute(stmt, {"r": [k[0] for k in keys], "k": [k[1] for k in keys]})


DUE_TIMERS = (
    "SELECT t.rule_id, t.ticket_id FROM rule_timers t JOIN rules r ON r.id = t.rule_id"
    " WHERE t.due_at IS NOT NULL AND t.due_at <= :now AND r.enabled"
    " ORDER BY t.due_at LIMIT :limit"
)


async def due_timers(session: AsyncSession, now: datetime, limit: int) -> list[AnyRow]:
    """Due timers of enabled rules, earliest first (the partial index on due_at)."""
    return list((await session.execute(text(DUE_TIMERS), {"now": now, "limit": limit})).all())


async def lock_due_timer(
    session: AsyncSession, rule_id: uuid.UUID, ticket_id: uuid.UUID, now: datetime
) -> AnyRow | None:
    """The timer, locked, if still due; None when another worker holds it or fired it."""
    stmt = text(
        "SELECT rule_id, ticket_id, basis, due_at FROM rule_timers"
        " WHERE rule_id = :r AND ticket_id = :t AND due_at IS NOT NULL AND due_at <= :now"
        " FOR UPDATE SKIP LOCKED"
    )
    return (await session.execute(stmt, {"r": rule_id, "t": ticket_id, "now": now})).first()


async def next_timer_at(session: AsyncSession) -> datetime | None:
    """The earliest timer to come (one probe of the due_at index)."""
    stmt = text("SELECT min(due_at) FROM rule_timers WHERE due_at IS NOT NULL")
    return (await session.execute(stmt)).scalar()


async def claim_timer_execution(
    session: AsyncSession, rule_id: uuid.UUID, ticket_id: uuid.UUID, basis: str
) -> int | None:
    """The execution's log row, or None when this timer (rule, ticket, basis) ran already."""
    stmt = (
        pg_insert(RuleExecution)
        .values(rule_id=rule_id, ticket_id=ticket_id, timer_basis=basis, depth=0, status="applied")
        .on_conflict_do_nothing(
            index_elements=["rule_id", "ticket_id", "timer_basis"],
            index_where=text("timer_basis IS NOT NULL"),
        )
        .returning(RuleExecution.id)
    )
    return (await session.execute(stmt)).scalar()


async def rules_needing_timers(session: AsyncSession) -> list[AnyRow]:
    """Enabled rules whose timers were not built since their last change (id, updated_at)."""
    stmt = text(
        "SELECT r.id, r.updated_at FROM rules r LEFT JOIN rule_state s ON s.rule_id = r.id"
        " WHERE r.enabled AND (s.timers_built_at IS NULL OR s.timers_built_at < r.updated_at)"
        " ORDER BY r.position, r.id"
    )
    return list((await session.execute(stmt)).all())


async def timers_built(session: AsyncSession, rule_id: uuid.UUID, at: datetime) -> None:
    stmt = text(
        "INSERT INTO rule_state AS s (rule_id, timers_built_at) VALUES (:r, :at)"
        " ON CONFLICT (rule_id) DO UPDATE SET timers_built_at = :at"
    )
    await session.execute(stmt, {"r": rule_id, "at": at})


async def open_tickets_after(
    session: AsyncSession, after: uuid.UUID | None, limit: int
) -> list[uuid.UUID]:
    """Live tickets that are not closed, by id (building a new time rule's timers)."""
    stmt = text(
        "SELECT id FROM tickets WHERE deleted_at IS NULL AND status <> 'closed'"
        " AND (CAST(:after AS uuid) IS NULL OR id > :after) ORDER BY id LIMIT :limit"
    )
    return list((await session.execute(stmt, {"after": after, "limit": limit})).scalars())
