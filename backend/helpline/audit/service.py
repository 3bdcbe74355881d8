"""Audit domain: audit-event queries, and the buffered application events."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.audit import repository
from helpline.audit.schemas import AuditEvent, AuditEventFilters
from helpline.auth.principal import Principal
from helpline.db import ActorContext, Database
from helpline.errors import RateLimited
from helpline.kit.clock import Clock, utcnow
from helpline.kit.pagination import Keyset, KeysetPage, time_and_id
from helpline.kit.periodic import Periodic
from helpline.kit.rows import AnyRow

log = logging.getLogger(__name__)

EVENTS_CURSOR = "audit-events"

# The audit log, newest first.
EVENTS_KEYSET: Keyset[Any, tuple[datetime, int]] = Keyset(
    EVENTS_CURSOR, lambda r: [r.occurred_at.isoformat(), r.id], time_and_id(int)
)


async def list_audit_events(
    session: AsyncSession,
    filters: AuditEventFilters,
    *,
    limit: int,
    cursor: str | None,
    cursor_secret: bytes,
) -> KeysetPage[AnyRow]:
    """One page of audit events, newest first (the caller holds `audit:read`)."""
    after = EVENTS_KEYSET.after(cursor_secret, cursor)
    rows = await repository.list_audit_events(session, filters, after, limit)
    return EVENTS_KEYSET.page(cursor_secret, rows, limit)


async def record_events(session: AsyncSession, events: list[AuditEvent]) -> None:
    """Write application events in the caller's transaction (CLI jobs: migrations, rotation)."""
    await repository.insert_events(session, [e.row() for e in events])


def access_failure_event(
    *,
    status: int,
    slug: str,
    detail: str,
    method: str,
    path: str,
    principal: Principal | None,
    request_id: str | None,
    ip: str | None,
    now: datetime,
    concealed: tuple[str, str] | None = None,
) -> AuditEvent:
    """The audit event of a 401 (auth.failed) or 403 (permission.denied) response, or of a 404
    that hid an existing resource from the caller (access.not_visible: an IDOR attempt)."""
    changes = {"reason": detail, "problem": slug, "method": method, "path": path}
    if concealed is not None and principal is not None:
        return AuditEvent(
            action="access.not_visible",
            outcome="denied",
            actor_type=principal.actor_type,
            actor_id=principal.user_id,
            api_key_id=principal.api_key_id,
            entity_type=concealed[0],
            entity_id=concealed[1],
            request_id=request_id,
            ip=ip,
            changes=changes,
            occurred_at=now,
        )
    if principal is None:
        return AuditEvent(
            action="auth.failed",
            outcome="failure",
            actor_type="anonymous",
            request_id=request_id,
            ip=ip,
            changes=changes,
            occurred_at=now,
        )
    return AuditEvent(
        action="permission.denied" if status == 403 else "auth.failed",
        outcome="denied" if status == 403 else "failure",
        actor_type=principal.actor_type,
        actor_id=principal.user_id,
        api_key_id=principal.api_key_id,
        request_id=request_id,
        ip=ip,
        changes=changes,
        occurred_at=now,
    )


def session_event(
    action: str,
    *,
    user_id: uuid.UUID,
    request_id: str | None,
    ip: str | None,
    now: datetime,
) -> AuditEvent:
    """auth.login / auth.logout of a web session (never the password, token or CSRF token)."""
    return AuditEvent(
        action=action,
        actor_type="user",
        actor_id=user_id,
        entity_type="user",
        entity_id=str(user_id),
        request_id=request_id,
        ip=ip,
        occurred_at=now,
    )


def rate_limited_event(
    *, policy: str, limit: int, principal: Principal | None, ip: str | None, now: datetime
) -> AuditEvent:
    """The audit event of a 429. Repeats aggregate (same actor, IP and policy → one row with
    `occurrences` per flush), so a flood of refusals costs a row per flush, not per request."""
    return AuditEvent(
        action="rate_limit.exceeded",
        outcome="denied",
        actor_type=principal.actor_type if principal is not None else "anonymous",
        actor_id=principal.user_id if principal is not None else None,
        api_key_id=principal.api_key_id if principal is not None else None,
        ip=ip,
        changes={"policy": policy, "limit": limit},
        occurred_at=now,
    )


def record_rate_limited(
    audit: AuditService | None,
    refused: RateLimited,
    *,
    principal: Principal | None,
    ip: str | None,
    now: datetime,
) -> None:
    """Queue the audit event of a 429 (no I/O; aggregated when written)."""
    if audit is not None and refused.result is not None:
        audit.emit(
            rate_limited_event(
                policy=refused.result.policy,
                limit=refused.result.limit,
                principal=principal,
                ip=ip,
                now=now,
            )
        )


@dataclass(slots=True)
class BufferStats:
    emitted: int = 0
    dropped: int = 0
    aggregated: int = 0
    written: int = 0
    failed_flushes: int = 0
    dropped_unreported: int = field(default=0, repr=False)


class AuditService:
    """A bounded buffer of application audit events, written in batches.

    Failure events (401/403) that repeat within one batch — same action, actor, IP and reason —
    are written as one row with `occurrences`, so an attack costs at most one row per distinct
    failure per flush. When the buffer is full new events are dropped and counted; the count is
    itself written as an `audit.events_dropped` event. Events are not tied to the request's
    transaction: a denied request rolls back, its denial must still be recorded.
    """

    def __init__(
        self,
        database: Database,
        *,
        clock: Clock = utcnow,
        capacity: int = 10_000,
        batch_size: int = 500,
        flush_interval_s: float = 1.0,
    ) -> None:
        self.database = database
        self.clock = clock
        self.capacity = capacity
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.stats = BufferStats()
        self._queue: deque[AuditEvent] = deque()
        self._lock = asyncio.Lock()
        # Writes in the background (and once more at shutdown); tests flush explicitly.
        self.flusher = Periodic("audit-flusher", self.flush, interval_s=flush_interval_s)

    def __len__(self) -> int:
        return len(self._queue)

    def emit(self, event: AuditEvent) -> bool:
        """Queue an event without waiting; False (and counted) when the buffer is full."""
        if len(self._queue) >= self.capacity:
            self.stats.dropped += 1
            self.stats.dropped_unreported += 1
            return False
        self._queue.append(event)
        self.stats.emitted += 1
        if len(self._queue) >= self.batch_size:
            self.flusher.wake()
        return True

    def system_event(self, action: str, **changes: Any) -> bool:
        return self.emit(
            AuditEvent(
                action=action,
                actor_type="system",
                occurred_at=self.clock(),
                changes=changes or None,
            )
        )

    def _take_batch(self) -> list[AuditEvent]:
        batch: list[AuditEvent] = []
        while self._queue and len(batch) < self.batch_size:
            batch.append(self._queue.popleft())
        if self.stats.dropped_unreported:
            batch.append(
                AuditEvent(
                    action="audit.events_dropped",
                    outcome="failure",
                    occurred_at=self.clock(),
                    changes={"count": self.stats.dropped_unreported, "capacity": self.capacity},
                )
            )
            self.stats.dropped_unreported = 0
        return batch

    @staticmethod
    def _aggregate(batch: list[AuditEvent]) -> list[AuditEvent]:
        out: list[AuditEvent] = []
        groups: dict[tuple[Any, ...], AuditEvent] = {}
        for event in batch:
            if event.outcome == "success" or event.action == "audit.events_dropped":
                out.append(event)
                continue
            key = (
                event.action,
                event.outcome,
                event.actor_type,
                event.actor_id,
                event.api_key_id,
                event.ip,
                json.dumps(event.changes, sort_keys=True, default=str),
            )
            first = groups.get(key)
            if first is None:
                first = replace(event, changes=dict(event.changes or {}))
                assert first.changes is not None
                first.changes["occurrences"] = 1
                groups[key] = first
                out.append(first)
            else:
                assert first.changes is not None
                first.changes["occurrences"] += 1
                first.changes["last_at"] = event.occurred_at.isoformat()
                first.changes["last_request_id"] = event.request_id
        return out

    async def flush(self) -> int:
        """Write everything buffered now; returns the rows written. Never raises."""
        written = 0
        async with self._lock:
            while self._queue or self.stats.dropped_unreported:
                batch = self._take_batch()
                rows = self._aggregate(batch)
                try:
                    async with self.database.transaction(ActorContext.system("audit")) as session:
                        await record_events(session, rows)
                except Exception:
                    self.stats.failed_flushes += 1
                    log.exception("audit flush failed; %d events kept", len(batch))
                    room = self.capacity - len(self._queue)
                    kept = batch[: max(room, 0)]
                    self.stats.dropped += len(batch) - len(kept)
                    self._queue.extendleft(reversed(kept))
                    break
                self.stats.aggregated += len(batch) - len(rows)
                self.stats.written += len(rows)
                written += len(rows)
        return written
