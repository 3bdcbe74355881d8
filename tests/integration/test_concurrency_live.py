"""Real commits and real processes: two `helpline serve` instances on one database and Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from scripts.lib.live_server import LiveServer, live_server, server_env
from scripts.lib.services import create_database, drop_database, redis_url

pytestmark = pytest.mark.integration

API = "/api/v1/tickets"


def make_key(server: LiveServer, role: str) -> dict[str, str]:
    import uuid

    out = server.cli(
        "users", "create", "--role", role, "--email", f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    )
    return {"Authorization": f"Bearer {out.strip().splitlines()[-1]}"}


@pytest.fixture(scope="module")
def servers(
    pg_server: str, services, run_id: str, tmp_path_factory
) -> Iterator[tuple[LiveServer, LiveServer]]:
    url = create_database(pg_server)
    redis = redis_url(services)
    assert redis, "the live tests need a real Redis"
    env = server_env(url, redis, f"helpline-test-{run_id}-live", HELPLINE_ACCESS_LOG="false")
    logs = tmp_path_factory.mktemp("live")
    try:
        with live_server(env, logs / "a.log") as a, live_server(env, logs / "b.log") as b:
            yield a, b
    finally:
        drop_database(pg_server, url)


@pytest.fixture(scope="module")
def keys(servers) -> dict[str, dict[str, str]]:
    a, _ = servers
    return {"agent": make_key(a, "agent"), "customer": make_key(a, "customer")}


def customer_id(server: LiveServer, headers: dict[str, str]) -> str:
    r = httpx.post(f"{server.base_url}{API}", json={"title": "probe"}, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["customer_id"])


class TestAcrossProcesses:
    def test_committed_write_is_visible_to_the_other_process(self, servers, keys):
        a, b = servers
        h = keys["customer"]
        ticket = httpx.post(f"{a.base_url}{API}", json={"title": "one"}, headers=h).json()
        url = f"{API}/{ticket['id']}"
        assert httpx.get(b.base_url + url, headers=h).json()["version"] == 1  # B caches v1
        assert httpx.get(b.base_url + url, headers=h).json()["version"] == 1
        r = httpx.patch(a.base_url + url, json={"title": "two"}, headers=h)
        assert r.status_code == 200
        seen = httpx.get(b.base_url + url, headers=h).json()
        assert seen["version"] == 2
        assert seen["title"] == "two"
        listed = httpx.get(b.base_url + API, headers=h).json()["data"]
        assert any(t["id"] == ticket["id"] and t["title"] == "two" for t in listed)

    def test_concurrent_patches_with_one_if_match_exactly_one_wins(self, servers, keys):
        a, b = servers
        h = keys["agent"]
        cid = customer_id(a, keys["customer"])
        ticket = httpx.post(
            f"{a.base_url}{API}", json={"title": "t", "customer_id": cid}, headers=h
        ).json()

        async def patch(base: str, n: int) -> httpx.Response:
            async with httpx.AsyncClient(base_url=base) as client:
                return await client.patch(
                    f"{API}/{ticket['id']}",
                    json={"title": f"writer {n}"},
                    headers={**h, "If-Match": '"1"'},
                )

        async def race() -> list[httpx.Response]:
            return list(
                await asyncio.gather(*(patch((a, b)[n % 2].base_url, n) for n in range(10)))
            )

        results = asyncio.run(race())
        statuses = sorted(r.status_code for r in results)
        assert statuses == [200] + [412] * 9, statuses
        final = httpx.get(f"{b.base_url}{API}/{ticket['id']}", headers=h).json()
        winner = next(r for r in results if r.status_code == 200).json()
        assert final["version"] == 2
        assert final["title"] == winner["title"]

    def test_fifty_concurrent_posts_with_one_key_create_one_ticket(self, servers, keys):
        a, b = servers
        h = {**keys["customer"], "Idempotency-Key": "fifty-at-once"}
        body = {"title": "exactly once"}

        async def post(base: str) -> httpx.Response:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                return await client.post(API, json=body, headers=h)

        async def storm() -> list[httpx.Response]:
            return list(await asyncio.gather(*(post((a, b)[n % 2].base_url) for n in range(50))))

        results = asyncio.run(storm())
        statuses = {r.status_code for r in results}
        assert statuses <= {201, 409}, statuses
        created = {r.json()["id"] for r in results if r.status_code == 201}
        assert len(created) == 1
        listed = httpx.get(f"{a.base_url}{API}?limit=100", headers=keys["customer"]).json()["data"]
        assert sum(t["title"] == "exactly once" for t in listed) == 1
        replay = httpx.post(f"{b.base_url}{API}", json=body, headers=h)
        assert replay.status_code == 201
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json()["id"] in created
