"""The worker's reports consumer: follow the change feed and record metric facts.

Each batch is its own transaction (system actor ``job:reports``), so a long catch-up never holds
the feed (ADR 0012) and a crash repeats at most one batch — harmlessly, facts being insert-only.
One worker holds the position at a time (``FOR UPDATE SKIP LOCKED``); the others skip the turn.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from helpline.db import ActorContext, Database
from helpline.report import service

ACTOR = ActorContext.system("reports")


async def follow_feed(database: Database, *, batch: int = service.FEED_BATCH) -> int:
    """Read the feed until caught up (or another worker holds it); returns events read."""
    total = 0
    while True:
        async with database.unit_of_work(ACTOR) as uow:
            read = await service.follow_feed(uow.session, batch=batch)
        total += read
        if read < batch:
            return total


async def backfill(
    database: Database,
    *,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Facts for every live ticket from its history, and the ticket's rollups, one batch per
    transaction: (tickets, facts written). Safe beside a running worker and to run again
    (facts are insert-only; a ticket's rollups are synced to what its state says is missing).
    The zones kept when it starts are marked ready at the end: every ticket is in them then."""
    async with database.unit_of_work(ACTOR) as uow:
        zones = await service.rollup_zones(uow.session)
    after: uuid.UUID | None = None
    tickets = facts = 0
    while True:
        async with database.unit_of_work(ACTOR) as uow:
            ids, written = await service.backfill_batch(uow.session, after, batch=batch)
        tickets += len(ids)
        facts += written
        if progress is not None:
            progress(len(ids))
        if len(ids) < batch:
            async with database.unit_of_work(ACTOR) as uow:
                await service.mark_rollups_ready(uow.session, zones)
            return tickets, facts
        after = ids[-1]
