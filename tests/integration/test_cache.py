"""Ticket and list caching through the real app, PostgreSQL and Redis (ADR 0006)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from helpline.app import create_app
from helpline.auth.principal import Principal
from helpline.db import Database
from helpline.kit import cache as kit_cache
from helpline.kit.cache import CACHE_REQUESTS, CacheBackend
from helpline.models.enums import Role
from helpline.runtime import make_redis
from helpline.ticket import service as ticket_service
from helpline.ticket.cache import STAFF_VIEW, TicketCache
from helpline.ticket.schemas import TicketUpdate
from tests.fixtures.actors import Cast
from tests.fixtures.redis_server import redis_server

pytestmark = pytest.mark.integration

API = "/api/v1/tickets"


async def create(client, actor, **body) -> dict[str, Any]:
    body.setdefault("title", "Printer on fire")
    if actor.role is not Role.customer:
        body.setdefault("customer_id", str(body.pop("for_customer")))
    r = await client.post(API, json=body, headers=actor.headers)
    assert r.status_code == 201, r.text
    return r.json()


def hits(cache: str) -> float:
    return CACHE_REQUESTS.get(cache=cache, result="hit")


class ControlledCache(TicketCache):
    """A second process's cache whose database read can be held at a chosen point."""

    def __init__(self, backend: CacheBackend) -> None:
        super().__init__(backend, lease_wait_ms=2000)
        self.loaded = asyncio.Event()
        self.proceed = asyncio.Event()
        self.proceed.set()
        self.loads = 0
        self._db = asyncio.Lock()  # the test harness shares one connection between sessions

    async def _load(self, uow, ticket_id):
        async with self._db:
            self.loads += 1
            entry = await super()._load(uow, ticket_id)
        self.loaded.set()
        await self.proceed.wait()
        return entry


class TestTicketCache:
    async def test_second_read_is_a_hit_and_body_matches(self, client, cast: Cast):
        ticket = await create(client, cast.alice)
        first = await client.get(f"{API}/{ticket['id']}", headers=cast.alice.headers)
        before = hits("ticket")
        second = await client.get(f"{API}/{ticket['id']}", headers=cast.alice.headers)
        assert hits("ticket") == before + 1
        assert first.status_code == second.status_code == 200
        assert first.json() == second.json()
        assert second.json()["metadata"] == {}
        assert second.headers["etag"] == '"1"'

    async def test_cached_ticket_never_reaches_another_customer(self, client, cast: Cast):
        ticket = await create(client, cast.alice)
        assert (
            await client.get(f"{API}/{ticket['id']}", headers=cast.alice.headers)
        ).status_code == 200
        before = hits("ticket")
        r = await client.get(f"{API}/{ticket['id']}", headers=cast.bob.headers)
        assert r.status_code == 404
        assert ticket["title"] not in r.text
        assert hits("ticket") == before + 1  # served from the cache, still refused
        assert (
            await client.get(f"{API}/{ticket['id']}", headers=cast.agent.headers)
        ).status_code == 200

    async def test_every_kind_of_change_is_visible_at_once(self, client, cast: Cast):
        ticket = await create(client, cast.agent, for_customer=cast.alice.id)
        url, h = f"{API}/{ticket['id']}", cast.agent.headers
        assert (await client.get(url, headers=h)).json()["version"] == 1
        assert (await client.patch(url, json={"priority": "high"}, headers=h)).status_code == 200
        assert (await client.get(url, headers=h)).json()["priority"] == "high"
        r = await client.put(f"{url}/metadata/plan", json={"value": "pro"}, headers=h)
        assert r.status_code in (200, 204), r.text
        body = (await client.get(url, headers=h)).json()
        assert body["metadata"] == {"plan": "pro"}
        assert body["version"] == 3
        r = await client.post(f"{url}/conversations", json={"message": "hi"}, headers=h)
        assert r.status_code == 201, r.text
        assert (await client.get(url, headers=h)).json()["version"] == 4
        assert (await client.delete(f"{url}/metadata/plan", headers=h)).status_code == 204
        assert (await client.get(url, headers=h)).json()["metadata"] == {}
        assert (await client.delete(url, headers=h)).status_code == 204
        assert (await client.get(url, headers=h)).status_code == 404

    async def test_stale_set_race_returns_the_new_version(self, app, client, cast: Cast, db):
        """Reader misses and reads v1; a writer commits v2 and invalidates; the reader's late
        fill must be refused, so the next read sees v2."""
        ticket = await create(client, cast.agent, for_customer=cast.alice.id)
        tid = uuid.UUID(ticket["id"])
        other_process = ControlledCache(app.state.services.cache)
        other_process.proceed.clear()
        reader = asyncio.create_task(other_process.get_ticket(db.work(), tid, STAFF_VIEW))
        await other_process.loaded.wait()  # the reader holds v1, not yet stored
        r = await client.patch(f"{API}/{tid}", json={"title": "v2"}, headers=cast.agent.headers)
        assert r.status_code == 200
        assert r.json()["version"] == 2
        other_process.proceed.set()
        stale = await reader
        assert stale is not None
        assert stale.version == 1
        fresh = await client.get(f"{API}/{tid}", headers=cast.agent.headers)
        assert fresh.json()["version"] == 2
        assert fresh.json()["title"] == "v2"
        again = await other_process.get_ticket(db.work(), tid, STAFF_VIEW)
        assert again is not None
        assert again.version == 2

    async def test_rolled_back_write_neither_evicts_nor_poisons(
        self, app, client, cast: Cast, db: Database
    ):
        ticket = await create(client, cast.agent, for_customer=cast.alice.id)
        tid, url = uuid.UUID(ticket["id"]), f"{API}/{ticket['id']}"
        await client.get(url, headers=cast.agent.headers)  # cached at v1
        agent = Principal(user_id=cast.agent.id, role=Role.agent, scopes=frozenset())

        async def write_then_fail() -> None:
            async with db.unit_of_work(cache=app.state.services.cache) as uow:
                await ticket_service.update_ticket(
                    uow, agent, tid, TicketUpdate(title="never"), None
                )
                inside = await ticket_service.get_ticket(uow, agent, tid)
                assert inside.title == "never"  # the transaction sees its own write…
                raise RuntimeError("roll back")

        with pytest.raises(RuntimeError, match="roll back"):
            await write_then_fail()
        before = hits("ticket")
        r = await client.get(url, headers=cast.agent.headers)
        assert hits("ticket") == before + 1  # …but nothing was evicted
        assert r.json()["title"] == "Printer on fire"
        assert r.json()["version"] == 1

    async def test_stampede_on_an_expired_hot_key_reads_the_database_once_or_twice(
        self, app, client, cast: Cast, db, redis
    ):
        ticket = await create(client, cast.agent, for_customer=cast.alice.id)
        tid = uuid.UUID(ticket["id"])
        first, second = (
            ControlledCache(app.state.services.cache),
            ControlledCache(app.state.services.cache),
        )
        assert await first.get_ticket(db.work(), tid, STAFF_VIEW) is not None
        await redis.delete(app.state.services.cache.key("ticket", tid))  # the hot key expires
        first.loads = 0
        readers = [
            cache.get_ticket(db.work(), tid, STAFF_VIEW)
            for _ in range(100)
            for cache in (first, second)  # two processes, 100 concurrent readers each
        ]
        results = await asyncio.gather(*readers)
        assert all(r is not None and r.version == 1 for r in results)
        assert first.loads + second.loads <= 2, (first.loads, second.loads)


class TestListCache:
    async def test_lists_never_cross_principals(self, client, cast: Cast):
        mine = await create(client, cast.alice, title="alice's")
        theirs = await create(client, cast.bob, title="bob's")
        for _ in range(2):  # the second round is served from the cache
            a = (await client.get(API, headers=cast.alice.headers)).json()["data"]
            b = (await client.get(API, headers=cast.bob.headers)).json()["data"]
            staff = (await client.get(API, headers=cast.agent.headers)).json()["data"]
            assert [t["id"] for t in a] == [mine["id"]]
            assert [t["id"] for t in b] == [theirs["id"]]
            assert {mine["id"], theirs["id"]} <= {t["id"] for t in staff}

    async def test_list_is_cached_and_a_write_renews_it(self, client, cast: Cast):
        first = await create(client, cast.alice, title="one")
        await client.get(API, headers=cast.alice.headers)
        before = hits("list")
        r = await client.get(API, headers=cast.alice.headers)
        assert hits("list") == before + 1
        assert len(r.json()["data"]) == 1
        await client.patch(
            f"{API}/{first['id']}", json={"title": "uno"}, headers=cast.alice.headers
        )
        second = await create(client, cast.alice, title="two")
        data = (await client.get(API, headers=cast.alice.headers)).json()["data"]
        assert sorted(t["title"] for t in data) == ["two", "uno"]
        # another customer's write does not renew Alice's lists
        await client.get(API, headers=cast.alice.headers)
        await create(client, cast.bob)
        before = hits("list")
        await client.get(API, headers=cast.alice.headers)
        assert hits("list") == before + 1
        assert second["id"]

    async def test_query_normalization_and_filters(self, client, cast: Cast):
        await create(client, cast.agent, for_customer=cast.alice.id, title="a", status="open")
        await create(client, cast.agent, for_customer=cast.alice.id, title="b", status="pending")
        h = cast.alice.headers
        one = (await client.get(API, params={"status": "open,pending"}, headers=h)).json()
        two = (await client.get(API, params={"status": "pending,open"}, headers=h)).json()
        only = (await client.get(API, params={"status": "open"}, headers=h)).json()
        assert one == two
        assert len(one["data"]) == 2
        assert [t["title"] for t in only["data"]] == ["a"]


class TestConditionalRequests:
    async def test_list_etag_and_if_none_match(self, client, cast: Cast):
        ticket = await create(client, cast.alice)
        r = await client.get(API, headers=cast.alice.headers)
        etag = r.headers["etag"]
        assert etag.startswith('W/"')
        again = await client.get(API, headers={**cast.alice.headers, "If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        await client.patch(f"{API}/{ticket['id']}", json={"title": "x"}, headers=cast.alice.headers)
        changed = await client.get(API, headers={**cast.alice.headers, "If-None-Match": etag})
        assert changed.status_code == 200
        assert changed.headers["etag"] != etag

    async def test_ticket_if_none_match_and_if_match(self, client, cast: Cast):
        ticket = await create(client, cast.alice)
        url, h = f"{API}/{ticket['id']}", cast.alice.headers
        r = await client.get(url, headers={**h, "If-None-Match": '"1"'})
        assert r.status_code == 304
        assert r.content == b""
        assert (await client.get(url, headers={**h, "If-None-Match": '"0"'})).status_code == 200
        ok = await client.patch(url, json={"title": "y"}, headers={**h, "If-Match": '"1"'})
        assert ok.status_code == 200
        assert ok.headers["etag"] == '"2"'
        stale = await client.patch(url, json={"title": "z"}, headers={**h, "If-Match": '"1"'})
        assert stale.status_code == 412
        assert stale.json()["current_version"] == 2
        assert (await client.get(url, headers={**h, "If-None-Match": '"1"'})).status_code == 200


@asynccontextmanager
async def app_with_redis(settings, db, clock, url: str, **overrides: Any) -> AsyncIterator[Any]:
    custom = settings.model_copy(update={"redis_url": url, **overrides})
    client = make_redis(custom)
    application = create_app(custom, background=False, database=db, redis=client, clock=clock)
    try:
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://helpline.test") as c:
                yield application, c
    finally:
        await client.aclose()


class TestRedisDown:
    async def test_reads_and_writes_survive_a_dead_redis_and_recover(
        self, settings, db, clock, cast: Cast, tmp_path
    ):
        with redis_server(tmp_path) as server:
            async with app_with_redis(
                settings, db, clock, server.url, cache_breaker_reset_s=0.0
            ) as (app, client):
                h = cast.agent.headers
                ticket = await create(client, cast.agent, for_customer=cast.alice.id)
                url = f"{API}/{ticket['id']}"
                assert (await client.get(url, headers=h)).json()["version"] == 1
                server.kill()
                for _ in range(5):
                    r = await client.get(url, headers=h)
                    assert r.status_code == 200
                    assert r.json()["version"] == 1
                    assert (await client.get(API, headers=h)).status_code == 200
                r = await client.patch(url, json={"title": "while down"}, headers=h)
                assert r.status_code == 200, r.text
                assert (await client.get(url, headers=h)).json()["title"] == "while down"
                metrics = (await client.get("/metrics", headers=cast.admin.headers)).text
                assert 'helpline_cache_errors_total{cache="ticket"}' in metrics
                server.start()  # same port, empty
                for _ in range(3):
                    r = await client.get(url, headers=h)
                    assert r.status_code == 200
                    assert r.json()["version"] == 2
                before = hits("ticket")
                assert (await client.get(url, headers=h)).json()["version"] == 2
                assert hits("ticket") == before + 1  # caching again
                assert app.state.services.cache.breaker.state == kit_cache.BreakerState.closed

    async def test_lost_invalidation_cannot_leave_stale_data_behind(
        self, settings, db, clock, cast: Cast, tmp_path
    ):
        """Redis unreachable (paused, data kept) while a write commits: once it answers again,
        no process may serve the version cached before the write."""
        with redis_server(tmp_path) as server:
            async with app_with_redis(
                settings, db, clock, server.url, cache_breaker_reset_s=0.0, cache_op_timeout_ms=100
            ) as (app, client):
                h = cast.agent.headers
                ticket = await create(client, cast.agent, for_customer=cast.alice.id)
                tid, url = uuid.UUID(ticket["id"]), f"{API}/{ticket['id']}"
                assert (await client.get(url, headers=h)).json()["version"] == 1  # cached v1
                server.pause()
                r = await client.patch(url, json={"title": "v2"}, headers=h)
                assert r.status_code == 200  # the write succeeds; its invalidation is lost
                assert app.state.services.cache.has_lost_invalidations
                server.resume()
                other_process = TicketCache(
                    CacheBackend(app.state.services.redis, prefix=settings.redis_key_prefix)
                )
                assert (await client.get(url, headers=h)).json()["version"] == 2
                seen = await other_process.get_ticket(db.work(), tid, STAFF_VIEW)
                assert seen is not None
                assert seen.version == 2
                assert not app.state.services.cache.has_lost_invalidations

    async def test_an_instance_without_redis_cannot_leave_others_serving_stale_tickets(
        self, settings, db, clock, cast: Cast
    ):
        """B cannot reach Redis; A can. B's changes reach A's cache through the outbox."""
        assert settings.redis_url is not None
        async with (
            app_with_redis(settings, db, clock, settings.redis_url) as (a, client_a),
            app_with_redis(
                settings, db, clock, "redis://127.0.0.1:1/0", cache_op_timeout_ms=50
            ) as (_b, client_b),
        ):
            h = cast.agent.headers
            ticket = await create(client_a, cast.agent, for_customer=cast.alice.id)
            url = f"{API}/{ticket['id']}"
            for _ in range(2):  # cached in Redis by A
                assert (await client_a.get(url, headers=h)).json()["version"] == 1
            r = await client_b.patch(url, json={"title": "changed on B"}, headers=h)
            assert r.status_code == 200, r.text
            assert (await client_b.get(url, headers=h)).json()["title"] == "changed on B"
            stale = await client_a.get(url, headers=h)
            assert stale.json()["version"] == 1  # not yet delivered: what the outbox is for
            assert await a.state.services.invalidation_outbox.deliver() == 1
            fresh = await client_a.get(url, headers=h)
            assert fresh.json()["title"] == "changed on B"
            assert fresh.json()["version"] == 2
            assert await a.state.services.invalidation_outbox.deliver() == 0  # delivered once, gone

            r = await client_b.delete(url, headers=h)
            assert r.status_code == 204
            assert await a.state.services.invalidation_outbox.deliver() == 1
            gone = await client_a.get(url, headers=h)
            assert gone.status_code == 404
            assert gone.json()["type"] == "/problems/ticket-not-found"


class TestMetrics:
    async def test_metrics_are_for_admins(self, client, cast: Cast):
        assert (await client.get("/metrics", headers=cast.agent.headers)).status_code == 403
        assert (await client.get("/metrics")).status_code == 401
        r = await client.get("/metrics", headers=cast.admin.headers)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain")
        assert "# TYPE helpline_cache_requests_total counter" in r.text
        assert 'helpline_cache_breaker_state{backend="redis"} 0' in r.text
