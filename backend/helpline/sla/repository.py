"""SQL of service levels: admin objects, ticket timelines, clocks, feed position, alarms."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.arrays import unnest
from helpline.kit.feed import FeedConsumer
from helpline.kit.rows import AnyRow
from helpline.models import (
    SlaCalendar,
    SlaClock,
    SlaInboxRest,
    SlaPolicy,
    SlaRecompute,
    SlaTicketState,
)

# The SLA consumer of the change feed (same visibility as the feed: events/repository.py).
FEED = FeedConsumer(table="sla_feed_positions", name="sla")
RECOMPUTE_TASK = "helpline:sla_recompute"  # procrastinate task name (jobs.tasks)


# -- calendars and policies ----------------------------------------------------------------------
async def insert_calendar(session: AsyncSession, values: dict[str, Any]) -> SlaCalendar:
    await session.execute(insert(SlaCalendar).values(**values))
    row = await get_calendar(session, values["id"])
    assert row is not None  # inserted just above
    return row


async def get_calendar(
    session: AsyncSession, calendar_id: uuid.UUID, *, lock: bool = False
) -> SlaCalendar | None:
    stmt = select(SlaCalendar).where(SlaCalendar.id == calendar_id)
    if lock:
        stmt = stmt.with_for_update()
    return (
        await session.execute(stmt.execution_options(populate_existing=True))
    ).scalar_one_or_none()


async def calendar_name_taken(
    session: AsyncSession, name: str, *, other_than: uuid.UUID | None = None
) -> bool:
    stmt = select(SlaCalendar.id).where(SlaCalendar.name == name)
    if other_than is not None:
        stmt = stmt.where(SlaCalendar.id != other_than)
    return (await session.execute(stmt.limit(1))).first() is not None


async def list_calendars(session: AsyncSession) -> list[SlaCalendar]:
    stmt = select(SlaCalendar).order_by(SlaCalendar.name, SlaCalendar.id)
    return list((await session.execute(stmt)).scalars())


async def calendars_by_id(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, SlaCalendar]:
    if not ids:
        return {}
    rows = (await session.execute(select(SlaCalendar).where(SlaCalendar.id.in_(ids)))).scalars()
    return {r.id: r for r in rows}


async def update_calendar(
    session: AsyncSession, calendar_id: uuid.UUID, values: dict[str, Any]
) -> None:
    await session.execute(
        update(SlaCalendar)
        .where(SlaCalendar.id == calendar_id)
        .values(**values, updated_at=func.now())
    )


async def delete_calendar(session: AsyncSession, calendar_id: uuid.UUID) -> None:
    await session.execute(delete(SlaCalendar).where(SlaCalendar.id == calendar_id))


async def calendar_in_use(session: AsyncSession, calendar_id: uuid.UUID) -> bool:
    stmt = select(SlaPolicy.id).where(SlaPolicy.calendar_id == calendar_id).limit(1)
    return (await session.execute(stmt)).first() is not None


async def insert_policy(session: AsyncSession, values: dict[str, Any]) -> SlaPolicy:
    await session.execute(insert(SlaPolicy).values(**values))
    row = await get_policy(session, values["id"])
    assert row is not None  # inserted just above
    return row


async def get_policy(
    session: AsyncSession, policy_id: uuid.UUID, *, lock: bool = False
) -> SlaPolicy | None:
    stmt = select(SlaPolicy).where(SlaPolicy.id == policy_id)
    if lock:
        stmt = stmt.with_for_update()
    return (
        await session.execute(stmt.execution_options(populate_existing=True))
    ).scalar_one_or_none()


async def policy_name_taken(
    session: AsyncSession, name: str, *, other_than: uuid.UUID | None = None
) -> bool:
    stmt = select(SlaPolicy.id).where(SlaPolicy.name == name)
    if other_than is not None:
        stmt = stmt.where(SlaPolicy.id != other_than)
    return (await session.execute(stmt.limit(1))).first() is not None


async def list_policies(session: AsyncSession, *, enabled_only: bool = False) -> list[SlaPolicy]:
    stmt = select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.created_at, SlaPolicy.id)
    if enabled_only:
        stmt = stmt.where(SlaPolicy.enabled)
    return list((await session.execute(stmt)).scalars())


async def update_policy(
    session: AsyncSession, policy_id: uuid.UUID, values: dict[str, Any]
) -> None:
    await session.execute(
        update(SlaPolicy).where(SlaPolicy.id == policy_id).values(**values, updated_at=func.now())
    )


async def lock_policies(session: AsyncSession) -> list[uuid.UUID]:
    """Every policy's id, with the table locked against other writers until the transaction
    ends (a concurrent create, delete or reorder waits; readers do not)."""
    await session.execute(text("LOCK TABLE sla_policies IN SHARE ROW EXCLUSIVE MODE"))
    return list((await session.execute(select(SlaPolicy.id))).scalars())


async def set_positions(session: AsyncSession, ids: Sequence[uuid.UUID]) -> int:
    """Policy ``ids[i]`` gets position ``i``, in one statement; returns how many moved."""
    result = await session.execute(
        text(
            "UPDATE sla_policies p SET position = o.n - 1, updated_at = now()"
            " FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS o(id, n)"
            " WHERE p.id = o.id AND p.position <> o.n - 1"
        ),
        {"ids": list(ids)},
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_policy(session: AsyncSession, policy_id: uuid.UUID) -> None:
    await session.execute(delete(SlaPolicy).where(SlaPolicy.id == policy_id))


# -- what a derivation reads ---------------------------------------------------------------------
async def load_tickets(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[AnyRow]:
    """Live tickets' attributes that policies match on, with their metadata as one object."""
    result = await session.execute(
        text(
            "SELECT t.id, t.status, t.priority, t.customer_id, t.mailbox_id, t.created_at,"
            " t.updated_at,"
            " coalesce((SELECT jsonb_object_agg(m.key, m.value) FROM ticket_metadata m"
            "           WHERE m.ticket_id = t.id), '{}'::jsonb) AS metadata,"
            " (SELECT h.new_value->>'status' FROM ticket_history h"
            # ORDER BY the index's own columns: ordering by h.id alone lets the planner walk
            # the primary key of the whole history table for every ticket.
            "   WHERE h.ticket_id = t.id AND h.change_type = 'created'"
            "   ORDER BY h.ticket_id, h.id LIMIT 1) AS initial_status"
            " FROM tickets t WHERE t.id = ANY(:ids) AND t.deleted_at IS NULL"
        ),
        {"ids": list(ids)},
    )
    return list(result.all())


async def load_status_changes(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[AnyRow]:
    result = await session.execute(
        text(
            "SELECT ticket_id, timestamp, old_value #>> '{}' AS old_status,"
            " new_value #>> '{}' AS new_status FROM ticket_history"
            " WHERE ticket_id = ANY(:ids) AND change_type = 'status_changed'"
            " ORDER BY ticket_id, id"
        ),
        {"ids": list(ids)},
    )
    return list(result.all())


async def load_messages(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[AnyRow]:
    result = await session.execute(
        text(
            "SELECT ticket_id, timestamp, sender_type, is_internal FROM conversations"
            " WHERE ticket_id = ANY(:ids) ORDER BY ticket_id, timestamp, id"
        ),
        {"ids": list(ids)},
    )
    return list(result.all())


# -- clocks --------------------------------------------------------------------------------------
async def lock_clocks(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[AnyRow]:
    """The tickets' stored clocks (every column but ``updated_at``), locked in one order (no
    deadlocks): their notices are kept, and a re-derived clock equal to its row is not written."""
    result = await session.execute(
        text(
            f"SELECT {', '.join(CLOCK_TYPES)}, warned_at, breach_noticed_at FROM sla_clocks"  # noqa: S608  # nosec B608
            " WHERE ticket_id = ANY(:ids) ORDER BY ticket_id, kind, cycle FOR UPDATE"
        ),
        {"ids": list(ids)},
    )
    return list(result.all())


async def replace_clocks(
    session: AsyncSession,
    ids: Sequence[uuid.UUID],
    changed: list[dict[str, Any]],
    stale: Sequence[tuple[uuid.UUID, str, int]],
    states: list[dict[str, Any]],
    rest: list[dict[str, Any]],
) -> None:
    """The tickets' clocks and summaries become what was derived: ``changed`` clocks (new or
    different from their row) are written, ``stale`` ones (no longer derived) deleted, the
    summaries become ``states``, and ``rest`` (the live tickets without a running deadline) are
    exactly these tickets' rows in sla_inbox_rest — at most one statement each, whatever the
    batch size."""
    if stale:
        await session.execute(
            text(
                "DELETE FROM sla_clocks c USING unnest(CAST(:t AS uuid[]), CAST(:k AS text[]),"
                " CAST(:c AS int[])) AS gone(t, k, c)"
                " WHERE c.ticket_id = gone.t AND c.kind = gone.k AND c.cycle = gone.c"
            ),
            {"t": [k[0] for k in stale], "k": [k[1] for k in stale], "c": [k[2] for k in stale]},
        )
    if changed:
        await _upsert(session, "sla_clocks", CLOCK_TYPES, ("ticket_id", "kind", "cycle"), changed)
    gone = sorted(set(ids) - {s["ticket_id"] for s in states})
    if gone:
        await session.execute(delete(SlaTicketState).where(SlaTicketState.ticket_id.in_(gone)))
    if states:
        await _upsert(session, "sla_ticket_states", STATE_TYPES, ("ticket_id",), states)
    # A ticket with a deadline (or deleted) has no row: deleting none is an index probe.
    dated = sorted(set(ids) - {r["ticket_id"] for r in rest})
    if dated:
        await session.execute(delete(SlaInboxRest).where(SlaInboxRest.ticket_id.in_(dated)))
    if rest:
        await _upsert(session, "sla_inbox_rest", REST_TYPES, ("ticket_id",), rest)


CLOCK_TYPES = {
    "ticket_id": "uuid",
    "kind": "text",
    "cycle": "int",
    "policy_id": "uuid",
    "target_seconds": "bigint",
    "business": "boolean",
    "started_at": "timestamptz",
    "paused_at": "timestamptz",
    "running_since": "timestamptz",
    "used_seconds": "bigint",
    "due_at": "timestamptz",
    "warn_at": "timestamptz",
    "fulfilled_at": "timestamptz",
    "stopped_at": "timestamptz",
    "breached_at": "timestamptz",
    "next_alarm_at": "timestamptz",
}
STATE_TYPES = {
    "ticket_id": "uuid",
    "policy_id": "uuid",
    "due_at": "timestamptz",
    "breached": "text",
}
REST_TYPES = {"ticket_id": "uuid", "ticket_updated_at": "timestamptz"}


async def _upsert(
    session: AsyncSession,
    table: str,
    types: dict[str, str],
    key: tuple[str, ...],
    rows: list[dict[str, Any]],
) -> None:
    """One INSERT … SELECT FROM unnest(arrays) ON CONFLICT DO UPDATE for all rows (an
    executemany costs a round trip per row). ``breached`` (text[] per row) travels as a
    comma-joined text and is split back."""
    columns = list(types)
    params: dict[str, Any] = {}
    selects = []
    for column in columns:
        values = [r[column] for r in rows]
        if column == "breached":
            values = [",".join(v) for v in values]
            selects.append(f"coalesce(string_to_array(NULLIF(v.{column}, ''), ','), '{{}}')")
        else:
            selects.append(f"v.{column}")
        params[column] = values
    rest = [c for c in columns if c not in key]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in rest)
    mine = ", ".join(f"{table}.{c}" for c in rest)
    theirs = ", ".join(f"EXCLUDED.{c}" for c in rest)
    # Only constant column and table names are joined; every value is a bound parameter.
    # An equal row is left alone (no new tuple, no index entries, no WAL).
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(selects)}"  # noqa: S608  # nosec B608
        f" FROM {unnest(types)} AS v({', '.join(columns)})"
        f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}, updated_at = now()"
        f" WHERE ({mine}) IS DISTINCT FROM ({theirs})"
    )
    await session.execute(text(sql), params)


async def ticket_states(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[AnyRow]:
    """Per ticket: policy, running deadlines per kind, paused flag and breached kinds."""
    result = await session.execute(
        text(
            "SELECT s.ticket_id, s.policy_id, p.name AS policy_name, s.breached,"
            " (SELECT min(c.due_at) FROM sla_clocks c WHERE c.ticket_id = s.ticket_id"
            "   AND c.kind = 'first_response' AND c.fulfilled_at IS NULL"
            "   AND c.stopped_at IS NULL) AS first_response_due_at,"
            " (SELECT min(c.due_at) FROM sla_clocks c WHERE c.ticket_id = s.ticket_id"
            "   AND c.kind = 'next_response' AND c.fulfilled_at IS NULL"
            "   AND c.stopped_at IS NULL) AS next_response_due_at,"
            " (SELECT min(c.due_at) FROM sla_clocks c WHERE c.ticket_id = s.ticket_id"
            "   AND c.kind = 'resolution' AND c.fulfilled_at IS NULL"
            "   AND c.stopped_at IS NULL) AS resolution_due_at,"
            " EXISTS (SELECT 1 FROM sla_clocks c WHERE c.ticket_id = s.ticket_id"
            "   AND c.paused_at IS NOT NULL AND c.fulfilled_at IS NULL"
            "   AND c.stopped_at IS NULL) AS paused"
            " FROM sla_ticket_states s LEFT JOIN sla_policies p ON p.id = s.policy_id"
            " WHERE s.ticket_id = ANY(:ids)"
        ),
        {"ids": list(ids)},
    )
    return list(result.all())


async def due_queue(
    session: AsyncSession,
    *,
    statuses: Sequence[str],
    priority: str | None,
    assigned_to: uuid.UUID | None,
    breached: bool | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[AnyRow]:
    """Live tickets with a running deadline, earliest first (keyset on the due index)."""
    where = ["s.due_at IS NOT NULL", "t.deleted_at IS NULL"]
    params: dict[str, Any] = {"limit": limit}
    if statuses:
        where.append("t.status = ANY(:statuses)")
        params["statuses"] = list(statuses)
    if priority is not None:
        where.append("t.priority = :priority")
        params["priority"] = priority
    if assigned_to is not None:
        where.append("t.assigned_to = :assigned_to")
        params["assigned_to"] = assigned_to
    if breached is not None:
        where.append("cardinality(s.breached) > 0" if breached else "cardinality(s.breached) = 0")
    if after is not None:
        where.append("(s.due_at, s.ticket_id) > (:after_due, :after_id)")
        params["after_due"], params["after_id"] = after
    result = await session.execute(
        text(
            # Only the constant fragments above are joined; every value is a bound parameter.
            "SELECT t.id, t.number, t.title, t.status, t.priority, t.assigned_to,"  # noqa: S608  # nosec B608
            " t.customer_id, t.updated_at, s.due_at, s.breached, s.policy_id"
            " FROM sla_ticket_states s JOIN tickets t ON t.id = s.ticket_id"
            f" WHERE {' AND '.join(where)} ORDER BY s.due_at, s.ticket_id LIMIT :limit"
        ),
        params,
    )
    return list(result.all())


async def clocks_of(session: AsyncSession, ticket_id: uuid.UUID) -> list[SlaClock]:
    stmt = (
        select(SlaClock)
        .where(SlaClock.ticket_id == ticket_id)
        .order_by(SlaClock.kind, SlaClock.cycle)
    )
    return list((await session.execute(stmt)).scalars())


# -- alarms --------------------------------------------------------------------------------------
async def due_alarms(session: AsyncSession, now: datetime, limit: int) -> list[SlaClock]:
    """Clocks whose alarm is due, locked; clocks another worker holds are skipped."""
    stmt = (
        select(SlaClock)
        .where(SlaClock.next_alarm_at.is_not(None), SlaClock.next_alarm_at <= now)
        .order_by(SlaClock.next_alarm_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars())


async def next_alarm_at(session: AsyncSession) -> datetime | None:
    """The earliest alarm to come (one index probe)."""
    return (await session.execute(select(func.min(SlaClock.next_alarm_at)))).scalar()


async def record_alarms(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """The notices of fired clocks and their next alarms, one UPDATE for the batch."""
    if not rows:
        return
    columns = ("ticket_id", "kind", "cycle", "warned_at", "breach_noticed_at", "breached_at")
    await session.execute(
        text(
            "UPDATE sla_clocks c SET warned_at = v.warned_at,"
            " breach_noticed_at = v.breach_noticed_at, breached_at = v.breached_at,"
            " next_alarm_at = v.next_alarm_at, updated_at = now()"
            " FROM unnest(CAST(:ticket_id AS uuid[]), CAST(:kind AS text[]),"
            " CAST(:cycle AS int[]), CAST(:warned_at AS timestamptz[]),"
            " CAST(:breach_noticed_at AS timestamptz[]), CAST(:breached_at AS timestamptz[]),"
            " CAST(:next_alarm_at AS timestamptz[]))"
            " AS v(ticket_id, kind, cycle, warned_at, breach_noticed_at, breached_at,"
            " next_alarm_at)"
            " WHERE c.ticket_id = v.ticket_id AND c.kind = v.kind AND c.cycle = v.cycle"
        ),
        {c: [r[c] for r in rows] for c in (*columns, "next_alarm_at")},
    )


async def add_breached_kinds(
    session: AsyncSession, breaches: Sequence[tuple[uuid.UUID, str]]
) -> list[uuid.UUID]:
    """Add each (ticket, kind) to the ticket's breached kinds (kept sorted and unique), in one
    statement; the tickets whose kinds changed."""
    if not breaches:
        return []
    result = await session.execute(
        text(
            "UPDATE sla_ticket_states s SET breached = ARRAY(SELECT DISTINCT k FROM"
            " unnest(s.breached || v.kinds) AS k ORDER BY k), updated_at = now()"
            " FROM (SELECT t, array_agg(k) AS kinds FROM unnest(CAST(:t AS uuid[]),"
            " CAST(:k AS text[])) AS x(t, k) GROUP BY t) AS v"
            " WHERE s.ticket_id = v.t AND NOT (s.breached @> v.kinds) RETURNING s.ticket_id"
        ),
        {"t": [b[0] for b in breaches], "k": [b[1] for b in breaches]},
    )
    return [r.ticket_id for r in result]


async def emit_events(
    session: AsyncSession, events: list[tuple[str, uuid.UUID, dict[str, Any]]]
) -> None:
    """Feed events (and their webhook deliveries) through the function the triggers use, in
    the given order, one statement for the batch."""
    if not events:
        return
    await session.execute(
        text(
            "SELECT helpline_emit_event(e.type, e.ticket, true, CAST(e.data AS jsonb))"
            " FROM unnest(CAST(:types AS text[]), CAST(:tickets AS uuid[]),"
            " CAST(:data AS text[])) WITH ORDINALITY AS e(type, ticket, data, n) ORDER BY e.n"
        ),
        {
            "types": [e[0] for e in events],
            "tickets": [e[1] for e in events],
            "data": [_json(e[2]) for e in events],
        },
    )


def _json(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data, default=str, separators=(",", ":"))


# -- recomputations ------------------------------------------------------------------------------
async def insert_recompute(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(SlaRecompute).values(**values))
    await session.execute(
        text(
            "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW('maintenance', :task, 0, NULL,"
            " NULL, jsonb_build_object('id', CAST(:id AS text)),"
            " NULL)::procrastinate_job_to_defer_v1])"
        ),
        {"task": RECOMPUTE_TASK, "id": str(values["id"])},
    )


async def get_recompute(
    session: AsyncSession, recompute_id: uuid.UUID, *, lock: bool = False
) -> SlaRecompute | None:
    stmt = select(SlaRecompute).where(SlaRecompute.id == recompute_id)
    if lock:
        stmt = stmt.with_for_update(skip_locked=True)
    return (
        await session.execute(stmt.execution_options(populate_existing=True))
    ).scalar_one_or_none()


async def update_recompute(
    session: AsyncSession, recompute_id: uuid.UUID, values: dict[str, Any]
) -> None:
    await session.execute(
        update(SlaRecompute).where(SlaRecompute.id == recompute_id).values(**values)
    )


OPEN_TICKETS = "deleted_at IS NULL AND status <> 'closed'"


async def count_open_tickets(session: AsyncSession) -> int:
    result = await session.execute(
        text(f"SELECT count(*) FROM tickets WHERE {OPEN_TICKETS}")  # noqa: S608  # nosec B608
    )
    return int(result.scalar_one())


async def open_tickets_after(
    session: AsyncSession, after: uuid.UUID | None, limit: int
) -> list[uuid.UUID]:
    """The next open tickets in id order (keyset over the primary key)."""
    result = await session.execute(
        text(
            f"SELECT id FROM tickets WHERE {OPEN_TICKETS}"  # noqa: S608  # nosec B608
            " AND (CAST(:after AS uuid) IS NULL OR id > CAST(:after AS uuid))"
            " ORDER BY id LIMIT :limit"
        ),
        {"after": after, "limit": limit},
    )
    return list(result.scalars())


async def tickets_with_clocks(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Those of ``ids`` that still have SLA rows (a deleted ticket's rows must go)."""
    result = await session.execute(
        text("SELECT ticket_id FROM sla_ticket_states WHERE ticket_id = ANY(:ids)"),
        {"ids": list(ids)},
    )
    return list(result.scalars())
