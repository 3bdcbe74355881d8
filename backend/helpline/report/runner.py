"""The worker's reports consumer: follow the change feed and record metric facts; and the
rollups' maintenance (purged tickets, zones not yet built).

Each batch is its own transaction (system actor ``job:reports``), so a long catch-up never holds
the feed (ADR 0012) and a crash repeats at most one batch — harmlessly, facts being insert-only.
One worker holds the position at a time (``FOR UPDATE SKIP LOCKED``); the others skip the turn.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from helpline.db import ActorContext, Database
from helpline.report import recorder

ACTOR = ActorContext.system("reports")


async def follow_feed(database: Database, *, batch: int = recorder.FEED_BATCH) -> int:
    """Read the feed until caught up (or another worker holds it); returns events read."""
    total = 0
    while True:
        async with database.unit_of_work(ACTOR) as uow:
            read = await recorder.follow_feed(uow.session, batch=batch)
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
        zones = sorted(await recorder.rollup_zones(uow.session))
    after: uuid.UUID | None = None
    tickets = facts = 0
    while True:
        async with database.unit_of_work(ACTOR) as uow:
            ids, written = await recorder.backfill_batch(uow.session, after, batch=batch)
        tickets += len(ids)
        facts += written
        if progress is not None:
            progress(len(ids))
        if len(ids) < batch:
            async with database.unit_of_work(ACTOR) as uow:
                await recorder.mark_rollups_ready(uow.session, zones)
            return tickets, facts
        after = ids[-1]


@dataclass(frozen=True, slots=True)
class Maintained:
    purged: int  # purged tickets taken out of the rollups
    built: list[str]  # zones whose rollups were built (backfilled) and are now read


async def maintain(database: Database, *, batch: int = 500) -> Maintained:
    """The hourly job: take purged tickets out of the rollups, and when a zone is kept but not
    ready (an SLA calendar in a new zone, or rollups added to an existing install), run the
    backfill, which builds it and marks it ready — no manual step."""
    purged = 0
    while True:
        async with database.unit_of_work(ACTOR) as uow:
            n = await recorder.withdraw_purged(uow.session, batch=batch)
        purged += n
        if n < batch:
            break
    async with database.unit_of_work(ACTOR) as uow:
        pending = sorted(z for z, ready in (await recorder.rollup_zones(uow.session)).items()
                         if not ready)  # fmt: skip
    if pending:
        await backfill(database, batch=batch)
    return Maintained(purged, pending)
