"""All SQL for rules, their execution log and the feed cursor."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.rows import AnyRow
from helpline.models import Rule, RuleExecution


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
    """A log row for an execution that did not run (skipped, failed): once per (rule, event)."""
    await session.execute(
        pg_insert(RuleExecution)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["rule_id", "event_id"])
    )


async def ran_for_ticket(session: AsyncSession, rule_id: uuid.UUID, ticket_id: uuid.UUID) -> bool:
    stmt = text(
        "SELECT EXISTS (SELECT 1 FROM rule_executions WHERE rule_id = :r AND ticket_id = :t"
        " AND status = 'applied')"
    )
    return bool((await session.execute(stmt, {"r": rule_id, "t": ticket_id})).scalar())


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
    stmt = text(
        "SELECT e.id, e.xid, e.type, e.ticket_id, e.internal, e.request_id, e.data"
        " FROM events e WHERE (e.xid, e.id) > (:xid, :event_id)"
        " AND e.xid < (SELECT helpline_feed_horizon(pg_current_snapshot()))"
        " ORDER BY e.xid, e.id LIMIT :limit"
    )
    return list(
        (await session.execute(stmt, {"xid": xid, "event_id": event_id, "limit": limit})).all()
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
