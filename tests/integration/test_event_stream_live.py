"""GET /api/v1/events/stream through two real `helpline serve` processes on one database and
Redis: what a stream delivers is the feed — nothing missed or repeated across reconnects, the
same visibility — and a change made through one process reaches a stream on the other."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from scripts.lib.live_server import LiveServer, live_server, server_env
from scripts.lib.services import create_database, drop_database, redis_url

pytestmark = pytest.mark.integration

TICKETS = "/api/v1/tickets"
EVENTS = "/api/v1/events"
STREAM = "/api/v1/events/stream"
GUARD_S = 60  # a hang guard only: nothing below asserts how long anything took


def make_key(server: LiveServer, role: str) -> dict[str, str]:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    out = server.cli("users", "create", "--role", role, "--email", email)
    return {"Authorization": f"Bearer {out.strip().splitlines()[-1]}"}


@pytest.fixture(scope="module")
def servers(
    pg_server: str, services, run_id: str, tmp_path_factory
) -> Iterator[tuple[LiveServer, LiveServer]]:
    url = create_database(pg_server)
    redis = redis_url(services)
    assert redis, "the live tests need a real Redis"
    env = server_env(
        url,
        redis,
        f"helpline-test-{run_id}-stream",
        HELPLINE_ACCESS_LOG="false",
        HELPLINE_EVENTS_STREAM_HEARTBEAT_S="0.5",
    )
    logs = tmp_path_factory.mktemp("stream")
    try:
        with live_server(env, logs / "a.log") as a, live_server(env, logs / "b.log") as b:
            yield a, b
    finally:
        drop_database(pg_server, url)


@pytest.fixture(scope="module")
def keys(servers) -> dict[str, dict[str, str]]:
    a, _ = servers
    return {"agent": make_key(a, "agent"), "customer": make_key(a, "customer")}


@dataclass
class Message:
    event: str = "message"
    id: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)

    def json(self) -> dict:
        return json.loads(self.data)


async def messages(response: httpx.Response):
    """Parse an SSE body into messages (comments ride on the next message, or alone)."""
    current = Message()
    async for line in response.aiter_lines():
        if line == "":
            if current.data or current.comments or current.id:
                yield current
            current = Message()
        elif line.startswith(":"):
            current.comments.append(line[1:].strip())
            if not current.data:
                yield current
                current = Message()
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                current.event = value
            elif name == "id":
                current.id = value
            elif name == "data":
                current.data = value


async def feed_after(base: str, headers: dict[str, str], after: str) -> list[dict]:
    """Every event after ``after`` by GET /events (the reference the stream must equal)."""
    out: list[dict] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while True:
            r = await client.get(EVENTS, params={"after": after, "limit": 100}, headers=headers)
            assert r.status_code == 200, r.text
            body = r.json()
            out += body["data"]
            after = body["meta"]["next_cursor"]
            if not body["meta"]["has_more"]:
                return out


async def call(method: str, url: str, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.request(method, url, **kwargs)


async def ready_cursor(base: str, headers: dict[str, str]) -> str:
    async with (
        httpx.AsyncClient(base_url=base, timeout=30) as client,
        client.stream("GET", STREAM, headers=headers) as r,
    ):
        assert r.status_code == 200, await r.aread()
        assert r.headers["content-type"].startswith("text/event-stream")
        async for m in messages(r):
            assert m.event == "ready"
            assert m.id == m.json()["cursor"]
            return m.id
    raise AssertionError("no ready message")


async def collect(
    base: str, headers: dict[str, str], after: str, until: callable, *, take: int | None = None
) -> tuple[list[Message], str]:
    """Read feed messages from a stream resuming after ``after`` until ``until(got)`` or
    ``take`` of them; the messages and the last id seen."""
    got: list[Message] = []
    last = after
    async with (
        httpx.AsyncClient(base_url=base, timeout=30) as client,
        client.stream("GET", STREAM, headers={**headers, "Last-Event-ID": after}) as r,
    ):
        assert r.status_code == 200, await r.aread()
        async for m in messages(r):
            if m.event == "ready":
                assert m.id == after  # resumed exactly where asked
                continue
            if m.data:
                assert m.event == "message"
                assert m.id == m.json()["cursor"]
                got.append(m)
                last = m.id
            if until(got) or (take is not None and len(got) >= take):
                break
    return got, last


def create(base: str, headers: dict[str, str], body: dict) -> dict:
    r = httpx.post(f"{base}{TICKETS}", json=body, headers=headers, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()


class TestAcrossProcesses:
    async def test_a_change_through_one_process_reaches_a_stream_on_the_other(self, servers, keys):
        a, b = servers
        agent = keys["agent"]
        start = await ready_cursor(b.base_url, agent)
        customer = create(a.base_url, keys["customer"], {"title": "probe"})["customer_id"]
        ticket = create(a.base_url, agent, {"title": "through A", "customer_id": customer})

        def seen(got: list[Message]) -> bool:
            return any(m.json()["ticket_id"] == ticket["id"] for m in got)

        on_b, _ = await asyncio.wait_for(collect(b.base_url, agent, start, seen), GUARD_S)
        on_a, _ = await asyncio.wait_for(collect(a.base_url, agent, start, seen), GUARD_S)
        for got in (on_a, on_b):
            created = [m.json() for m in got if m.json()["ticket_id"] == ticket["id"]]
            assert created[0]["type"] == "ticket.created"
            assert created[0]["data"]["title"] == "through A"
        assert [m.id for m in on_a] == [m.id for m in on_b]

    async def test_a_staff_stream_with_presence_starts_with_everyone_present(self, servers, keys):
        a, b = servers
        ticket = str(uuid.uuid4())
        r = await call(
            "PUT",
            f"{a.base_url}/api/v1/tickets/{ticket}/presence",
            json={"state": "replying"},
            headers=keys["agent"],
        )
        assert r.status_code == 200, r.text

        async def first_two(headers: dict[str, str]) -> list[Message]:
            got: list[Message] = []
            async with (
                httpx.AsyncClient(base_url=b.base_url, timeout=30) as client,
                client.stream("GET", STREAM, params={"presence": "true"}, headers=headers) as r,
            ):
                assert r.status_code == 200
                async for m in messages(r):
                    got.append(m)
                    if len(got) == 2:
                        return got
            return got

        ready, snapshot = await asyncio.wait_for(first_two(keys["agent"]), GUARD_S)
        assert ready.event == "ready"
        assert snapshot.event == "presence-snapshot"
        assert snapshot.id is None  # not in the feed: Last-Event-ID stays the feed's
        body = snapshot.json()
        assert body["ttl_s"] > 0
        mine = [p for p in body["data"] if p["ticket_id"] == ticket]
        assert [p["state"] for p in mine] == ["replying"]
        # a customer asking for presence gets none: ready, then heartbeats
        ready, after = await asyncio.wait_for(first_two(keys["customer"]), GUARD_S)
        assert ready.event == "ready"
        assert after.comments == ["heartbeat"]
        assert ticket not in after.data

    async def test_an_idle_stream_sends_heartbeats(self, servers, keys):
        a, _ = servers
        async with httpx.AsyncClient(base_url=a.base_url, timeout=30) as client:
            r = client.stream(
                "GET", STREAM, headers=keys["agent"], params={"types": "ticket.deleted"}
            )
            async with r as response:
                comments = []
                async for m in messages(response):
                    comments += m.comments
                    if len(comments) >= 2:
                        break
        assert comments == ["heartbeat", "heartbeat"]

    async def test_a_bad_cursor_is_a_problem_not_a_stream(self, servers, keys):
        a, _ = servers
        r = await call(
            "GET", f"{a.base_url}{STREAM}", headers={**keys["agent"], "Last-Event-ID": "nope"}
        )
        assert r.status_code == 400
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"].endswith("invalid-cursor")

    async def test_needs_credentials(self, servers):
        a, _ = servers
        r = await call("GET", f"{a.base_url}{STREAM}")
        assert r.status_code == 401
        assert r.json()["status"] == 401


class TestResume:
    async def test_reconnecting_under_four_writers_misses_nothing_and_repeats_nothing(
        self, servers, keys
    ):
        """A reader that drops the connection every few events and comes back with
        Last-Event-ID — alternating between the two processes — while 4 writers commit through
        both gets exactly the events GET /events lists, in the same order."""
        a, b = servers
        agent = keys["agent"]
        customer = create(a.base_url, keys["customer"], {"title": "probe"})["customer_id"]
        start = await ready_cursor(a.base_url, agent)
        per_writer = 12

        async def writer(n: int) -> None:
            rng = random.Random(n)
            async with httpx.AsyncClient(timeout=30) as client:
                for i in range(per_writer):
                    base = (a, b)[rng.randrange(2)].base_url
                    r = await client.post(
                        f"{base}{TICKETS}",
                        json={"title": f"w{n}-{i}", "customer_id": customer},
                        headers=agent,
                    )
                    assert r.status_code == 201, r.text
                    r = await client.patch(
                        f"{base}{TICKETS}/{r.json()['id']}",
                        json={"status": "open"},
                        headers=agent,
                    )
                    assert r.status_code == 200, r.text

        done = asyncio.Event()
        expected = 4 * per_writer * 2

        seen: list[Message] = []  # outside the reader: what it had when the guard fired

        async def reader() -> list[Message]:
            rng = random.Random(99)
            after = start
            while len(seen) < expected:
                base = (a, b)[rng.randrange(2)].base_url
                have = len(seen)
                got, after = await collect(
                    base,
                    agent,
                    after,
                    lambda g, have=have: have + len(g) >= expected,
                    take=rng.randint(1, 9),
                )
                seen.extend(got)
            return seen

        read = asyncio.create_task(reader())
        await asyncio.gather(*(writer(n) for n in range(4)))
        done.set()
        reference = await feed_after(b.base_url, agent, start)
        assert len(reference) == expected
        try:
            # Some twenty reconnections on a loaded machine: a generous hang guard.
            await asyncio.wait_for(read, 3 * GUARD_S)
        except TimeoutError:
            have = {m.json()["id"] for m in seen}
            missing = [e["id"] for e in reference if e["id"] not in have]
            pytest.fail(f"the reader had {len(seen)} of {expected} events; missing: {missing}")
        ids = [m.json()["id"] for m in seen]
        assert len(ids) == len(set(ids)), "an event was delivered twice"
        assert ids == [e["id"] for e in reference], "missed or out of feed order"


class TestVisibility:
    async def test_a_customer_never_receives_internal_or_staff_only_events(self, servers, keys):
        a, b = servers
        agent, customer = keys["agent"], keys["customer"]
        mine = create(a.base_url, customer, {"title": "mine"})
        start = await ready_cursor(b.base_url, customer)
        other_customer = make_key(a, "customer")
        create(a.base_url, other_customer, {"title": "someone else's"})
        url = f"{a.base_url}{TICKETS}/{mine['id']}"
        for method, path, body in (
            ("PATCH", url, {"priority": "urgent"}),
            ("POST", f"{url}/conversations", {"message": "psst", "is_internal": True}),
            ("PATCH", url, {"assigned_to": None, "priority": "low"}),
            ("POST", f"{url}/conversations", {"message": "We are on it"}),
        ):
            r = await call(method, path, json=body, headers=agent)
            assert r.status_code in (200, 201), r.text

        def replied(got: list[Message]) -> bool:
            return any(m.json()["data"].get("excerpt") == "We are on it" for m in got)

        got, _ = await asyncio.wait_for(collect(b.base_url, customer, start, replied), GUARD_S)
        events = [m.json() for m in got]
        assert [e["type"] for e in events] == ["message.created"]
        assert all(e["ticket_id"] == mine["id"] for e in events)
        assert not any(e["data"].get("is_internal") for e in events)
        reference = await feed_after(a.base_url, customer, start)
        assert [e["id"] for e in reference] == [e["id"] for e in events]
        # Staff see all four changes and the other customer's ticket.
        staff = await feed_after(a.base_url, agent, start)
        assert len(staff) == 5
