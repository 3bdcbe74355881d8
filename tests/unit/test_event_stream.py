"""events/live: the SSE framing of a stream, its heartbeats and end, and the watcher's fallback
to polling the feed when Redis cannot be subscribed to. Time is injected (a fake monotonic
clock and tiny timeouts); nothing asserts on the wall clock."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from helpline.events.live import HEARTBEAT, FeedWatcher, stream_feed
from helpline.events.schemas import EventRead

pytestmark = pytest.mark.unit


def event(n: int) -> EventRead:
    return EventRead(
        id=n,
        type="ticket.created",
        occurred_at=datetime(2026, 12, 7, tzinfo=UTC),
        ticket_id=uuid.UUID(int=n),
        actor_id=None,
        data={"title": f"t{n}"},
        cursor=f"c{n}",
    )


@dataclass
class Page:
    events: list[EventRead]
    next_cursor: str | None
    has_more: bool = False


@dataclass
class Feed:
    """A feed whose events are appended by the test; reads return what follows a cursor."""

    events: list[EventRead] = field(default_factory=list)
    reads: list[str | None] = field(default_factory=list)

    async def read(self, cursor: str | None) -> Page:
        self.reads.append(cursor)
        start = 0 if cursor in (None, "start") else int(cursor[1:])
        after = [e for e in self.events if e.id > start]
        return Page(after[:2], after[:2][-1].cursor if after else cursor, len(after) > 2)


class NoRedis:
    """A Redis that cannot be reached."""

    def pubsub(self):
        raise ConnectionError("redis down")


def watcher(probe=None, redis=None) -> FeedWatcher:
    async def nothing(cursor):
        return False, cursor

    async def start():
        return "start"

    return FeedWatcher(redis or NoRedis(), "chan", probe or nothing, start, poll_s=0.001)


class TestStream:
    async def test_ready_then_events_framed_with_their_cursor_then_heartbeat_then_end(self):
        feed = Feed(events=[event(1), event(2), event(3)])
        now = [0.0]
        w = watcher()
        frames = stream_feed(
            w, feed.read, "start", heartbeat_s=0.001, max_s=10, monotonic=lambda: now[0]
        )
        first = await anext(frames)
        assert first == 'retry: 2000\nevent: ready\nid: start\ndata: {"cursor": "start"}\n\n'
        got = [await anext(frames) for _ in range(3)]
        assert [f.split("\n")[0] for f in got] == ["id: c1", "id: c2", "id: c3"]
        assert got[0].split("\n")[1].startswith('data: {"id":1,"type":"ticket.created"')
        assert feed.reads == ["start", "c2"]  # the page had more: read on at once
        assert await anext(frames) == HEARTBEAT  # nothing woke it within heartbeat_s
        now[0] = 10.0  # the stream's lifetime is over: it ends, the client reconnects
        with pytest.raises(StopAsyncIteration):
            await anext(frames)
        assert w.streams == 0

    async def test_a_wake_reads_again_from_the_last_cursor(self):
        feed = Feed(events=[event(1)])
        w = watcher()
        frames = stream_feed(w, feed.read, "start", heartbeat_s=60, max_s=60, coalesce_s=0)
        await anext(frames)  # ready
        assert (await anext(frames)).startswith("id: c1")
        pending = asyncio.ensure_future(anext(frames))
        await asyncio.sleep(0)
        feed.events.append(event(2))
        w.bump()
        assert (await pending).startswith("id: c2")
        assert feed.reads == ["start", "c1"]
        await frames.aclose()
        assert w.streams == 0

    async def test_streams_with_the_same_share_key_read_each_page_once(self):
        feed = Feed(events=[event(1)])
        w = watcher()
        staff = [
            stream_feed(w, feed.read, "start", heartbeat_s=60, max_s=60, coalesce_s=0, share="s")
            for _ in range(3)
        ]
        customer = stream_feed(
            w, feed.read, "start", heartbeat_s=60, max_s=60, coalesce_s=0, share="c"
        )
        for frames in [*staff, customer]:
            await anext(frames)  # ready
        firsts = await asyncio.gather(*(anext(frames) for frames in [*staff, customer]))
        assert all(f.startswith("id: c1") for f in firsts)
        assert feed.reads == ["start", "start"]  # one read per key, not per stream
        pending = [asyncio.ensure_future(anext(frames)) for frames in [*staff, customer]]
        await asyncio.sleep(0)
        feed.events.append(event(2))
        w.bump()
        assert all(f.startswith("id: c2") for f in await asyncio.gather(*pending))
        assert feed.reads == ["start", "start", "c1", "c1"]
        for frames in [*staff, customer]:
            await frames.aclose()
        assert w.streams == 0

    async def test_a_failed_shared_read_is_not_kept(self):
        feed = Feed(events=[event(1)])
        fail = [True]

        async def flaky(cursor):
            if fail.pop() if fail else False:
                raise ConnectionError("database away")
            return await feed.read(cursor)

        w = watcher()
        with pytest.raises(ConnectionError):
            await w.read("s", 0, "start", flaky)
        page = await w.read("s", 0, "start", flaky)
        assert page.frames[0].startswith("id: c1")


class TestWatcher:
    async def test_without_redis_it_polls_the_feed_and_wakes_streams_when_it_moved(self):
        probes: list[str | None] = []
        moved = asyncio.Event()

        async def probe(cursor):
            probes.append(cursor)
            if moved.is_set():
                moved.clear()
                return True, "after-change"
            return False, cursor

        w = watcher(probe)
        async with w.attached():
            assert await w.wait(w.generation, 30)  # its start position wakes the streams once
            seen = w.generation
            assert not await w.wait(seen, 0.01)  # polled, nothing found: no wake-up
            moved.set()
            assert await w.wait(seen, 30)
            assert not w.subscribed
        assert probes[0] == "start"  # it watches from "now", not from the feed's beginning
        assert "after-change" in probes or probes[-1] == "start"
        assert w.streams == 0

    async def test_its_start_wakes_streams_that_read_the_feed_before_its_position(self):
        # A stream reads the feed, then a change becomes visible, then the watcher takes its
        # start position (the feed's end, past that change): no probe can find the change, so
        # the start itself must wake the streams, or the stream misses it until the next one.
        feed = Feed()
        gate = asyncio.Event()

        async def start():
            await gate.wait()
            return feed.events[-1].cursor if feed.events else "start"

        async def probe(cursor):
            return False, cursor  # nothing after the start position

        w = FeedWatcher(NoRedis(), "chan", probe, start, poll_s=0.001)
        frames = stream_feed(w, feed.read, "start", heartbeat_s=60, max_s=60, coalesce_s=0)
        await anext(frames)  # ready
        pending = asyncio.ensure_future(anext(frames))
        for _ in range(10):
            await asyncio.sleep(0)
        assert feed.reads == ["start"]  # it read the (empty) feed and waits
        feed.events.append(event(1))
        gate.set()
        assert (await asyncio.wait_for(pending, 10)).startswith("id: c1")
        assert feed.reads == ["start", "start"]
        await frames.aclose()

    async def test_a_redis_message_wakes_the_streams(self):
        class PubSub:
            def __init__(self) -> None:
                self.queue: asyncio.Queue = asyncio.Queue()

            async def subscribe(self, channel):
                assert channel == "chan"

            async def get_message(self, ignore_subscribe_messages, timeout):  # noqa: ASYNC109
                try:
                    return await asyncio.wait_for(self.queue.get(), timeout)
                except TimeoutError:
                    return None

            async def aclose(self):
                pass

        pubsub = PubSub()

        class Redis:
            def pubsub(self):
                return pubsub

        async def probe(cursor):
            return False, cursor

        w = FeedWatcher(Redis(), "chan", probe, lambda: asyncio.sleep(0, "start"), poll_s=60)
        async with w.attached():
            assert await w.wait(w.generation, 30)  # its start position wakes the streams once
            seen = w.generation  # polls are a minute apart: only the message can wake them now
            await pubsub.queue.put({"type": "message", "data": b"1"})
            assert await w.wait(seen, 30)
            assert w.subscribed


class TestPresenceOnTheStream:
    async def test_a_presence_stream_starts_with_everyone_present_then_the_changes(self):
        feed = Feed()
        w = watcher()
        asked: list[int] = []

        async def snapshot() -> str | None:
            asked.append(w.presence_seq)
            w.note_presence('{"state": "replying"}')  # a change racing the snapshot
            return '{"data": [], "ttl_s": 30}'

        staff = stream_feed(
            w,
            feed.read,
            "start",
            heartbeat_s=60,
            max_s=60,
            coalesce_s=0,
            presence=True,
            presence_snapshot=snapshot,
        )
        await anext(staff)  # ready
        first = await anext(staff)
        assert first == 'event: presence-snapshot\ndata: {"data": [], "ttl_s": 30}\n\n'
        assert asked == [0]
        # the racing change is not lost: it follows the snapshot (idempotent on the client)
        assert await anext(staff) == 'event: presence\ndata: {"state": "replying"}\n\n'
        await staff.aclose()

    async def test_no_snapshot_message_when_presence_cannot_be_read_or_was_not_asked(self):
        feed = Feed()
        w = watcher()

        async def unavailable() -> str | None:
            return None

        async def never() -> str | None:  # pragma: no cover - must not be called
            raise AssertionError("a stream without presence asked for it")

        staff = stream_feed(
            w,
            feed.read,
            "start",
            heartbeat_s=0.001,
            max_s=60,
            presence=True,
            presence_snapshot=unavailable,
        )
        other = stream_feed(
            w, feed.read, "start", heartbeat_s=0.001, max_s=60, presence_snapshot=never
        )
        await anext(staff)  # ready
        await anext(other)  # ready
        assert await anext(staff) == HEARTBEAT
        assert await anext(other) == HEARTBEAT
        await staff.aclose()
        await other.aclose()

    async def test_presence_messages_reach_streams_that_asked_without_an_id_or_a_feed_read(self):
        feed = Feed()
        w = watcher()
        staff = stream_feed(
            w, feed.read, "start", heartbeat_s=60, max_s=60, coalesce_s=0, presence=True
        )
        other = stream_feed(w, feed.read, "start", heartbeat_s=0.001, max_s=60)
        await anext(staff)  # ready
        pending = asyncio.ensure_future(anext(staff))
        assert await w.wait(0, 30)  # the watcher's start wakes the streams once
        for _ in range(10):
            await asyncio.sleep(0)  # the staff stream reads again and waits
        assert feed.reads == ["start", "start"]
        w.note_presence('{"state": "viewing"}')
        assert await pending == 'event: presence\ndata: {"state": "viewing"}\n\n'
        assert feed.reads == ["start", "start"]  # presence reads no feed
        await anext(other)  # ready
        assert await anext(other) == HEARTBEAT  # a stream that did not ask gets none
        assert feed.reads == ["start", "start", "start"]
        await staff.aclose()
        await other.aclose()
