"""Delivering pending webhook events: one ticket at a time per endpoint, in feed order.

At least once: a delivery row is written with its event (same transaction) and is marked done
only after the receiver answered 2xx; a crash in between sends it again (same `webhook-id`).
A failure blocks the ticket's later events (order) and is retried with exponential backoff and
full jitter until `webhook_retry_hours` have passed; an endpoint without a success for
`webhook_disable_after_hours` is disabled with the reason recorded.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from helpline.config import Settings
from helpline.db import ActorContext, Database
from helpline.kit.clock import Clock, utcnow
from helpline.webhook import repository, signing
from helpline.webhook.errors import WebhookTargetRefused
from helpline.webhook.pinning import PinnedBackend
from helpline.webhook.targets import check_target

ACTOR = ActorContext.system("webhooks")
BASE_DELAY_S = 5.0
MAX_DELAY_S = 3600.0
UNSETTLED_RETRY_S = 1.0
# A just-committed event usually settles within milliseconds (the writers that started before
# it commit): poll briefly before handing the wait to the queue (which polls every few seconds).
SETTLE_POLL_S = 0.01
SETTLE_WAITS = 50
EXCERPT = 500
BATCH = 20  # deliveries read at once for one (endpoint, ticket)


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with jitter: 5 s, 10 s, 20 s ... capped at 1 h, times 0.5-1.0."""
    delay = min(MAX_DELAY_S, BASE_DELAY_S * 2 ** max(0, attempts - 1))
    return timedelta(seconds=delay * (rng or random).uniform(0.5, 1.0))


@dataclass
class Deliverer:
    """The worker's delivery engine: shared HTTP client and per-endpoint concurrency caps."""

    database: Database
    settings: Settings
    clock: Clock
    client: httpx.AsyncClient
    # The signature timestamp is a freshness proof for the receiver: always the real time,
    # while scheduling decisions use the injectable ``clock``.
    wall: Clock = utcnow
    # The client's connection backend, when it is the pinned one (the worker's default client).
    pins: PinnedBackend | None = None
    _caps: dict[uuid.UUID, asyncio.Semaphore] = field(default_factory=dict)
    sent: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))

    def _cap(self, endpoint_id: uuid.UUID) -> asyncio.Semaphore:
        if endpoint_id not in self._caps:
            self._caps[endpoint_id] = asyncio.Semaphore(self.settings.webhook_concurrency)
        return self._caps[endpoint_id]

    async def run(self, endpoint_id: uuid.UUID, ticket_id: uuid.UUID) -> int:
        """Send the ticket's pending deliveries in order until done or one fails; how many
        were delivered."""
        delivered = 0
        settle_waits = 0
        while True:
            now = self.clock()
            wait = False
            async with self.database.transaction(ACTOR) as session:
                endpoint = await repository.get_endpoint(session, endpoint_id)
                if endpoint is None or not endpoint.enabled:
                    return delivered
                batch = await repository.pending(session, endpoint_id, ticket_id, BATCH)
                if not batch:
                    return delivered
                head = batch[0]
                if head.next_attempt_at > now:
                    return delivered  # its retry job is scheduled
                wait = not head.settled and settle_waits < SETTLE_WAITS
                if not head.settled and not wait:
                    # An older transaction is still open: it may yet add an earlier event.
                    await repository.defer_delivery_job(
                        session, endpoint_id, ticket_id, now + timedelta(seconds=UNSETTLED_RETRY_S)
                    )
                    return delivered
                if wait:
                    settle_waits += 1
                ready = []
                for row in batch:  # the leading run that may go now, in order
                    if not row.settled or row.next_attempt_at > now:
                        break
                    ready.append(row)
                live = [endpoint.secret]
                if endpoint.previous_secret and (
                    endpoint.previous_secret_expires_at is None
                    or endpoint.previous_secret_expires_at > now
                ):
                    live.append(endpoint.previous_secret)
                url = endpoint.url
            if wait:  # not holding a connection meanwhile
                await asyncio.sleep(SETTLE_POLL_S)
                continue
            for row in ready:
                ok, outcome = await self._send(endpoint_id, url, live, row, now)
                async with self.database.transaction(ACTOR) as session:
                    await self._record(session, endpoint_id, ticket_id, row, ok, outcome, now)
                if not ok:
                    return delivered
                delivered += 1
            if len(ready) == len(batch) < BATCH:
                # Drained: a delivery added since has its own job (queued behind this one).
                return delivered

    async def _send(
        self, endpoint_id: uuid.UUID, url: str, live: list[str], head: Any, now: datetime
    ) -> tuple[bool, dict[str, Any]]:
        body = json.dumps(
            {
                "type": head.type,
                "timestamp": head.occurred_at.isoformat(),
                "data": {"event_id": head.event_id, "ticket_id": str(head.ticket_id), **head.data},
            },
            separators=(",", ":"),
            default=str,
        ).encode()
        stamp = int(self.wall().timestamp())
        headers = signing.headers(live, f"evt_{head.event_id}", stamp, body)
        started = time.perf_counter()
        try:
            # Re-checked at send time: the name may resolve elsewhere than when it was saved;
            # the connection then goes to the address checked now (pinned, no second lookup).
            target = await check_target(url, self.settings.webhook_allowed_hosts)
            if self.pins is not None:
                self.pins.pin(url, target)
            async with (
                self._cap(endpoint_id),
                self.client.stream(
                    "POST",
                    url,
                    content=body,
                    headers=headers,
                    timeout=self.settings.webhook_timeout_s,
                ) as response,
            ):
                # Only the start of the answer is kept: a receiver cannot make us buffer more.
                excerpt = b""
                async for chunk in response.aiter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= EXCERPT:
                        break
        except (httpx.HTTPError, WebhookTargetRefused, OSError) as exc:
            self.sent["error"] += 1
            return False, {
                "last_error": f"{type(exc).__name__}: {exc}"[:EXCERPT],
                "last_status_code": None,
                "last_latency_ms": int((time.perf_counter() - started) * 1000),
                "last_response_excerpt": None,
            }
        ok = 200 <= response.status_code < 300
        self.sent["ok" if ok else "rejected"] += 1
        return ok, {
            "last_error": None if ok else f"HTTP {response.status_code}",
            "last_status_code": response.status_code,
            "last_latency_ms": int((time.perf_counter() - started) * 1000),
            "last_response_excerpt": excerpt[:EXCERPT].decode("utf-8", "replace"),
        }

    async def _record(
        self,
        session: Any,
        endpoint_id: uuid.UUID,
        ticket_id: uuid.UUID,
        head: Any,
        ok: bool,
        outcome: dict[str, Any],
        now: datetime,
    ) -> None:
        attempts = head.attempts + 1
        values: dict[str, Any] = {**outcome, "attempts": attempts, "last_attempt_at": now}
        if ok:
            values.update(status="succeeded", delivered_at=now)
            await repository.update_delivery(session, head.id, values)
            await repository.reset_failures(session, endpoint_id)
            return
        endpoint = await repository.get_endpoint(session, endpoint_id, lock=True)
        if endpoint is None:  # deleted meanwhile: its deliveries went with it
            return
        failing_since = endpoint.failing_since or now
        endpoint_values: dict[str, Any] = {
            "consecutive_failures": endpoint.consecutive_failures + 1,
            "failing_since": failing_since,
        }
        giving_up = now - head.created_at >= timedelta(hours=self.settings.webhook_retry_hours)
        if giving_up or now - failing_since >= timedelta(
            hours=self.settings.webhook_disable_after_hours
        ):
            endpoint_values.update(
                enabled=False,
                disabled_reason=(
                    f"disabled automatically: failing since {failing_since.isoformat()}"
                    f" ({endpoint.consecutive_failures + 1} failed attempts); last: "
                    f"{outcome['last_error']}"
                )[:EXCERPT],
                updated_at=now,
            )
        await repository.update_endpoint(session, endpoint_id, endpoint_values)
        if giving_up:
            values["status"] = "failed"  # gave up: the ticket's next events may go
            await repository.update_delivery(session, head.id, values)
            await repository.defer_delivery_job(session, endpoint_id, ticket_id, None)
            return
        values["next_attempt_at"] = now + backoff(attempts)
        await repository.update_delivery(session, head.id, values)
        await repository.defer_delivery_job(
            session, endpoint_id, ticket_id, values["next_attempt_at"]
        )
