"""Writing the metric facts and keeping the rollups in step with them.

The worker's consumer (``report.runner``) reads the change feed and records the facts of the
tickets it touched; ``helpline reports backfill`` does the same for every ticket. A fact is
written once (``ON CONFLICT DO NOTHING``): several workers, a retried batch or a backfill
racing the consumer leave the same rows. A purged ticket (hard-deleted, so no feed event) is
found by ``withdraw_purged`` (the hourly maintenance job). docs/reports.md.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.rows import AnyRow
from helpline.report import repository, rollups
from helpline.report.facts import SPAN, facts_of
from helpline.sla import service as sla_service

FEED_BATCH = 500


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


async def record_facts(session: AsyncSession, ids: Sequence[uuid.UUID]) -> int:
    """Write the facts these tickets' history holds that are not written yet, and bring the
    rollups in step (facts and current keys); returns how many facts were written."""
    ids = sorted(set(ids))
    if not ids:
        return 0
    # The sync states are locked first: one writer per ticket at a time, in id order.
    states = await rollups.lock(session, ids)
    written = await _write_facts(session, ids)
    await rollups.sync(session, states)
    return written


async def _write_facts(session: AsyncSession, ids: list[uuid.UUID]) -> int:
    tickets = await repository.load_tickets(session, ids)
    if not tickets:
        return 0
    live = [t.id for t in tickets]
    changes: dict[uuid.UUID, list[AnyRow]] = defaultdict(list)
    for row in await repository.load_status_changes(session, live):
        changes[row.ticket_id].append(row)
    responses = {r.ticket_id: r for r in await repository.first_responses(session, live)}
    have = await repository.fact_keys(session, live)
    new: list[dict[str, Any]] = []
    for ticket in tickets:
        for fact in facts_of(ticket, changes[ticket.id], responses.get(ticket.id)):
            if (fact["ticket_id"], fact["kind"], fact["seq"]) not in have:
                new.append(fact)
    if not new:
        return 0
    spans = [f for f in new if f[SPAN] is not None]
    engines = await sla_service.business_calendars(session, sorted({f["ticket_id"] for f in spans}))
    for fact in new:
        span = fact.pop(SPAN)
        engine = engines.get(fact["ticket_id"])
        fact["business_seconds"] = (
            None
            if span is None or engine is None
            else engine.elapsed(_epoch(span[0]), _epoch(span[1]))
        )
    return await repository.insert_facts(session, new)


async def follow_feed(session: AsyncSession, *, batch: int = FEED_BATCH) -> int:
    """One batch of the change feed: record the touched tickets' facts, move the position.

    Returns the number of events read (0: caught up, or another worker holds the position)."""
    events = await repository.FEED.take(session, batch)
    if not events:
        return 0
    touched = {
        e.ticket_id for e in events if e.ticket_id is not None and not e.type.startswith("sla.")
    }
    await record_facts(session, sorted(touched))
    await repository.FEED.move_past(session, events[-1])
    return len(events)


async def backfill_batch(
    session: AsyncSession, after: uuid.UUID | None, *, batch: int = 500
) -> tuple[list[uuid.UUID], int]:
    """Facts of the next ``batch`` tickets after ``after`` (id order): (ids, facts written)."""
    ids = await repository.tickets_after(session, after, batch)
    return ids, await record_facts(session, ids)


async def rollup_zones(session: AsyncSession) -> dict[str, bool]:
    """The zones rollups are kept in (UTC and the SLA calendars' zones, added when missing),
    each with whether it is ready (reports read it)."""
    return await rollups.zones(session)


async def withdraw_purged(session: AsyncSession, *, batch: int = FEED_BATCH) -> int:
    """Take purged tickets' contributions out of the rollups (then their facts and states go);
    returns how many tickets (``batch``: maybe more are left)."""
    ids = await rollups.purged_tickets(session, batch)
    await record_facts(session, ids)
    return len(ids)


async def mark_rollups_ready(session: AsyncSession, zones: Sequence[str]) -> None:
    """After every live ticket was synced: reports may read these zones' rollups."""
    await rollups.mark_ready(session, zones)
