"""``api_keys.last_used_at``, recorded outside the request's transaction.

Authentication notes each use in memory (no I/O on the request path, so a 304 or a 4xx counts
too); a background task writes the latest use of every key in one statement per interval, in its
own transaction. Several processes each write at most once per interval per key, and a write never
moves the time backwards.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog

from helpline.auth import repository
from helpline.db import ActorContext, Database
from helpline.kit.periodic import Periodic

log = structlog.get_logger("helpline.auth")


class KeyUseRecorder:
    """Bounded buffer of key uses, flushed every ``interval_s`` (and at shutdown) by its
    ``flusher``."""

    def __init__(self, database: Database, *, interval_s: float = 30.0, capacity: int = 50_000):
        self.database = database
        self.interval_s = interval_s
        self.capacity = capacity
        self._uses: dict[uuid.UUID, datetime] = {}
        self.dropped = 0
        self.flusher = Periodic("key-use", self.flush, interval_s=interval_s)

    def note(self, key_id: uuid.UUID, at: datetime) -> None:
        if key_id in self._uses or len(self._uses) < self.capacity:
            self._uses[key_id] = at
        else:
            self.dropped += 1  # under a flood of distinct keys; the next interval catches up

    async def flush(self) -> int:
        """Write the buffered uses; returns how many keys were written."""
        if not self._uses:
            return 0
        uses, self._uses = self._uses, {}
        try:
            async with self.database.transaction(ActorContext.system("key-use")) as session:
                await repository.touch_last_used(session, uses)
        except Exception:  # the database is down: keep the newest uses for the next try
            for key_id, at in uses.items():
                if key_id not in self._uses:
                    self._uses[key_id] = at
            log.warning("could not record API key use; will retry", keys=len(uses))
            return 0
        return len(uses)
