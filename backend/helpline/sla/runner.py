"""The worker's SLA loops: follow the change feed, fire due alarms, run recomputations.

Each batch is its own transaction (a unit of work with the system actor ``job:sla``), so a long
catch-up never holds the feed (ADR 0012) and a crash repeats at most one batch.
"""

from __future__ import annotations

import uuid

import structlog

from helpline.db import ActorContext, Database
from helpline.kit.clock import Clock
from helpline.sla import service
from helpline.sla.service import Alarm, Invalidate

log = structlog.get_logger("helpline.sla")
ACTOR = ActorContext.system("sla")


async def follow_feed(
    database: Database,
    clock: Clock,
    *,
    batch: int = service.FEED_BATCH,
    invalidate: Invalidate | None = None,
) -> int:
    """Read the feed until caught up (or another worker holds it); returns events read.

    ``invalidate`` records, in each batch's transaction, the tickets whose `sla` block
    changed (the worker passes the ticket cache's outbox)."""
    total = 0
    while True:
        async with database.unit_of_work(ACTOR) as uow:
            read = await service.follow_feed(
                uow.session, clock(), batch=batch, invalidate=invalidate
            )
        total += read
        if read < batch:
            return total


async def fire_alarms(
    database: Database,
    clock: Clock,
    *,
    batch: int = service.ALARM_BATCH,
    invalidate: Invalidate | None = None,
) -> list[Alarm]:
    """Every due warning and breach, each exactly once even with several workers."""
    fired: list[Alarm] = []
    while True:
        async with database.unit_of_work(ACTOR) as uow:
            now = clock()
            got = await service.fire_alarms(uow.session, now, limit=batch, invalidate=invalidate)
        fired += got
        if len(got) < batch:
            if fired:
                log.info("sla alarms", fired=len(fired))
            return fired


async def recompute(
    database: Database,
    clock: Clock,
    recompute_id: uuid.UUID,
    *,
    batch: int = 500,
    invalidate: Invalidate | None = None,
) -> int:
    """Run a recomputation to its end, one batch per transaction; returns batches run."""
    batches = 0
    more = True
    while more:
        async with database.unit_of_work(ACTOR) as uow:
            more = await service.recompute_batch(
                uow.session, recompute_id, clock(), batch=batch, invalidate=invalidate
            )
        batches += 1
    return batches


async def step(database: Database, clock: Clock, invalidate: Invalidate | None = None) -> None:
    """One turn of the worker's SLA loop (every second)."""
    await follow_feed(database, clock, invalidate=invalidate)
    await fire_alarms(database, clock, invalidate=invalidate)
