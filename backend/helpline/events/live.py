"""The change feed pushed as Server-Sent Events (``GET /api/v1/events/stream``).

A stream is the feed read again and again after its own cursor, by the same
:func:`helpline.events.service.read_feed` as ``GET /api/v1/events`` (same visibility, same
cursors: an event's SSE ``id:`` is its feed cursor, so ``Last-Event-ID`` resumes exactly). What a
stream adds is *when* it reads:

* A writer's after-commit cache invalidation (``ticket/cache.py``) also publishes on a Redis
  channel, in the same MULTI (no extra round trip). One :class:`FeedWatcher` per process
  subscribes to it and wakes that process's streams: a change reaches every API process at once.
* The watcher also reads the feed itself (as the system, from "now") every ``poll_s``, and wakes
  the streams when it finds anything. That bounds the delay when Redis is down, for writers that
  publish nothing (the worker, the CLI), and for an event that was held back by an earlier
  writer still running when its own announcement came (ADR 0012): one small read per process,
  whatever the number of streams, and only while a stream is open.
* A stream holds no database connection while it waits: each read takes one from the pool for a
  single autocommit statement. While idle it sends a comment line every ``heartbeat_s`` (proxies
  and load balancers keep the connection), and it ends after ``max_s`` so that the client
  reconnects with ``Last-Event-ID`` and is authenticated again (a revoked key or an expired
  session stops receiving).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from helpline.auth.principal import SYSTEM_PRINCIPAL, Principal
from helpline.errors import DependencyUnavailable
from helpline.events import service
from helpline.events.schemas import EventRead
from helpline.kit.cache import feed_channel, presence_channel
from helpline.kit.metrics import REGISTRY
from helpline.kit.pagination import MAX_LIMIT
from helpline.ticket.access import visible_tickets

if TYPE_CHECKING:
    from helpline.services import AppServices

log = logging.getLogger(__name__)

STREAMS = REGISTRY.gauge("helpline_event_streams", "Open change-feed streams of this process.")

PRESENCE_BACKLOG = 256
PROBE_LIMIT = 1000  # the watcher only needs to know whether the feed moved
ReadPage = Callable[[str | None], Awaitable[Any]]  # cursor -> FeedPage
Probe = Callable[[str | None], Awaitable[tuple[bool, str | None]]]  # cursor -> (found, next)


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """A feed page as SSE text: rendered once, however many streams send it."""

    frames: tuple[str, ...]
    next_cursor: str | None
    has_more: bool


async def render(read_page: ReadPage, cursor: str | None) -> RenderedPage:
    page = await read_page(cursor)
    frames = tuple(event_frame(event) for event in page.events)
    return RenderedPage(frames, page.next_cursor, page.has_more)


class FeedWatcher:
    """This process's one listener for committed changes; its streams wait on it."""

    def __init__(
        self,
        redis: Any,
        channel: str,
        probe: Probe,
        start: Callable[[], Awaitable[str | None]],
        *,
        poll_s: float = 1.0,
        resubscribe_s: float = 5.0,
        presence_channel: str | None = None,
    ) -> None:
        self.redis = redis
        self.channel = channel
        self.presence_channel = presence_channel
        # Presence messages fan out to this process's staff streams as they come: the last few
        # are kept, numbered, so a stream busy reading the feed sends them when it is back.
        self.presence: deque[tuple[int, str]] = deque(maxlen=PRESENCE_BACKLOG)
        self.presence_seq = 0
        self.probe = probe  # reads the feed after a cursor: anything new, and where to go on
        self.start_position = start
        self.poll_s = poll_s
        self.resubscribe_s = resubscribe_s
        self.generation = 0
        self.subscribed = False
        self.streams = 0
        self._changed = asyncio.Event()
        self._cursor: str | None = None
        # Shared reads: (generation, share key, cursor) -> the read of that page (see read()).
        self._reads: dict[tuple[int, Hashable, str | None], asyncio.Task[RenderedPage]] = {}
        self._task: asyncio.Task[None] | None = None
        STREAMS.callback = lambda: {(): float(self.streams)}

    # what streams use ----------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def attached(self) -> AsyncIterator[FeedWatcher]:
        """Count a stream in; the watcher runs while at least one stream is open."""
        self.streams += 1
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="helpline-feed-watcher")
        try:
            yield self
        finally:
            self.streams -= 1
            if self.streams == 0:
                await self.stop()

    async def wait(self, seen: int, timeout_s: float, seen_presence: int | None = None) -> bool:
        """Wait until the generation moves past ``seen`` (or, given ``seen_presence``, a
        presence message came after it); False when ``timeout_s`` passed."""
        if self.generation != seen:
            return True
        if seen_presence is not None and self.presence_seq != seen_presence:
            return True
        changed = self._changed
        try:
            await asyncio.wait_for(changed.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def read(
        self, share: Hashable | None, seen: int, cursor: str | None, read_page: ReadPage
    ) -> RenderedPage:
        """The page after ``cursor`` for a stream that last saw generation ``seen``.

        Streams that ask the same question (same ``share`` key: same visibility and filters) from
        the same cursor at the same generation get one read between them, rendered once: a
        change wakes every stream of the process at once, and without this each would read the
        same page (100 streams, 100 statements per change). Sharing a read that began at
        generation ``seen`` is as good as the stream's own: whatever was announced up to
        ``seen`` had committed before that read began, and what is announced later moves the
        generation, so the stream reads again. A failed read is not kept.
        """
        if share is None:
            return await render(read_page, cursor)
        key = (seen, share, cursor)
        task = self._reads.get(key)
        if task is None:
            if len(self._reads) > 4 * max(1, self.streams):  # old generations' pages
                self._reads = {k: t for k, t in self._reads.items() if k[0] >= seen}
            task = asyncio.ensure_future(render(read_page, cursor))
            self._reads[key] = task
            task.add_done_callback(lambda t: self._forget(key, t))
        # shield: one stream going away must not cancel the read the others wait for
        return await asyncio.shield(task)

    def _forget(self, key: tuple[int, Hashable, str | None], task: asyncio.Task[Any]) -> None:
        if (task.cancelled() or task.exception() is not None) and self._reads.get(key) is task:
            del self._reads[key]

    def bump(self) -> None:
        """Something may have become visible: wake every waiting stream."""
        self.generation += 1
        self._wake()

    def note_presence(self, payload: str) -> None:
        """A presence change (JSON) for the staff streams."""
        self.presence_seq += 1
        self.presence.append((self.presence_seq, payload))
        self._wake()

    def presence_since(self, seq: int) -> list[tuple[int, str]]:
        return [(n, p) for n, p in self.presence if n > seq]

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.subscribed = False
        self._cursor = None
        self._reads.clear()

    # the loop ------------------------------------------------------------------------------
    async def poll(self) -> None:
        """Read the feed after the watcher's own position; wake the streams if it moved."""
        try:
            if self._cursor is None:
                self._cursor = await self.start_position()
                # A stream may have read the feed before this position was taken: whatever
                # became visible in between is before the position and no probe will find it.
                # Wake the streams once so each reads after its own cursor.
                self.bump()
            found, self._cursor = await self.probe(self._cursor)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("feed watcher could not read the feed", exc_info=True)
            return
        if found:
            self.bump()

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("feed watcher lost Redis (%s); polling the feed", type(exc).__name__)
            self.subscribed = False
            # Redis unavailable: poll for a while, then try to subscribe again.
            deadline = time.monotonic() + self.resubscribe_s
            while time.monotonic() < deadline:
                await self.poll()
                await asyncio.sleep(self.poll_s)

    async def _listen(self) -> None:
        pubsub = self.redis.pubsub()
        try:
            channels = [self.channel] + ([self.presence_channel] if self.presence_channel else [])
            await pubsub.subscribe(*channels)
            self.subscribed = True
            await self.poll()  # the position to watch from; what came before subscribing
            next_poll = time.monotonic() + self.poll_s
            while True:
                timeout = max(0.0, next_poll - time.monotonic())
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
                if message is not None:
                    if _text(message.get("channel")) == self.presence_channel:
                        self.note_presence(_text(message.get("data")))
                    else:
                        self.bump()
                if time.monotonic() >= next_poll:
                    await self.poll()
                    next_poll = time.monotonic() + self.poll_s
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# the stream ----------------------------------------------------------------------------------
def frame(*, data: str, event: str | None = None, ident: str | None = None) -> str:
    """One SSE message (``data`` is one line of JSON)."""
    head = f"event: {event}\n" if event else ""
    head += f"id: {ident}\n" if ident else ""
    return f"{head}data: {data}\n\n"


def event_frame(event: EventRead) -> str:
    return frame(data=event.model_dump_json(), ident=event.cursor)


HEARTBEAT = ": heartbeat\n\n"


async def stream_feed(
    watcher: FeedWatcher,
    read_page: ReadPage,
    start: str | None,
    *,
    heartbeat_s: float = 15.0,
    max_s: float = 300.0,
    coalesce_s: float = 0.05,
    retry_ms: int = 2000,
    presence: bool = False,
    presence_snapshot: Callable[[], Awaitable[str | None]] | None = None,
    share: Hashable | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> AsyncIterator[str]:
    """The SSE text of a stream that starts after ``start``: a ``ready`` message carrying the
    start position as its id, then every event the reader may see, heartbeats while idle;
    with ``presence``, presence changes too (``event: presence``, no id: not in the feed),
    after ``presence_snapshot``'s list of everyone present (``event: presence-snapshot``)
    when given. Streams given the same ``share`` key (:func:`share_key`) share their reads."""
    ready = json.dumps({"cursor": start})
    yield f"retry: {retry_ms}\n" + frame(data=ready, event="ready", ident=start)
    cursor = start
    ends = monotonic() + max_s
    async with watcher.attached():
        sent_presence = watcher.presence_seq
        if presence and presence_snapshot is not None:
            # Taken after noting the watcher's position: a change racing it comes again as an
            # `event: presence`, which replaces that person's entry (applying it twice is fine).
            snapshot = await presence_snapshot()
            if snapshot is not None:
                yield frame(data=snapshot, event="presence-snapshot")
        read = True
        while True:
            if read:
                seen = watcher.generation
                page = await watcher.read(share, seen, cursor, read_page)
                for text in page.frames:
                    yield text
                cursor = page.next_cursor
                if page.has_more:
                    continue
            if presence:
                for number, payload in watcher.presence_since(sent_presence):
                    sent_presence = number
                    yield frame(data=payload, event="presence")
            while True:
                left = ends - monotonic()
                if left <= 0:
                    return
                waited = min(heartbeat_s, left)
                if await watcher.wait(seen, waited, sent_presence if presence else None):
                    break
                yield HEARTBEAT
            read = watcher.generation != seen
            if read:  # changes come in bursts: gather a few before reading again
                await asyncio.sleep(coalesce_s)


# composition -------------------------------------------------------------------------------
def presence_snapshot(
    services: AppServices, principal: Principal
) -> Callable[[], Awaitable[str | None]] | None:
    """Everyone present now, as `GET /api/v1/presence` answers it, for a staff stream's first
    message; None (no message) when Redis cannot say: the changes still follow."""
    found = services.presence
    if found is None:  # pragma: no cover - the lifespan always builds it
        return None

    async def snapshot() -> str | None:
        try:
            return (await found.list(principal, None)).model_dump_json()
        except DependencyUnavailable:
            return None

    return snapshot


def watcher_for(services: AppServices) -> FeedWatcher:
    """The process's watcher: Redis on the feed channel, the feed read as the system."""
    settings = services.settings
    secret = settings.cursor_secret
    database = services.db

    async def start() -> str | None:
        async with database.unit_of_work() as work:
            return await work.read(lambda s: service.current_position(s, secret))

    async def probe(cursor: str | None) -> tuple[bool, str | None]:
        async with database.unit_of_work() as work:
            page = await work.read(
                lambda s: service.read_feed(
                    s,
                    SYSTEM_PRINCIPAL,
                    after=cursor,
                    types=(),
                    ticket_id=None,
                    limit=PROBE_LIMIT,
                    cursor_secret=secret,
                )
            )
        return bool(page.events), page.next_cursor

    return FeedWatcher(
        services.redis,
        feed_channel(settings.redis_key_prefix),
        probe,
        start,
        poll_s=settings.events_stream_poll_s,
        presence_channel=presence_channel(settings.redis_key_prefix),
    )


def share_key(
    principal: Principal, *, types: tuple[str, ...], ticket_id: uuid.UUID | None
) -> Hashable:
    """What decides a stream's pages besides its cursor: streams with equal keys see the same
    events with the same data (all staff alike; each customer their own)."""
    visibility = visible_tickets(principal)
    return (visibility.customer_id, visibility.sees_internal, types, ticket_id)


def page_reader(
    services: AppServices,
    principal: Principal,
    *,
    types: tuple[str, ...],
    ticket_id: uuid.UUID | None,
) -> ReadPage:
    """How a stream reads its next page: the feed's own read, on a connection taken from the
    pool for that one statement (none is held between reads)."""
    database = services.db
    secret = services.settings.cursor_secret

    async def read(cursor: str | None) -> service.FeedPage:
        async with database.unit_of_work() as work:
            return await work.read(
                lambda s: service.read_feed(
                    s,
                    principal,
                    after=cursor,
                    types=types,
                    ticket_id=ticket_id,
                    limit=MAX_LIMIT,
                    cursor_secret=secret,
                )
            )

    return read
