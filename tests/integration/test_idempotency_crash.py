"""A server killed (-9) in the middle of an idempotent POST: a retry never runs the change twice.

The test holds row locks so that the server stops at a known point: after the change was made
and before its idempotency key is completed. With the completion committed in a separate
transaction after the change (the old way) the change is committed there while the key stays in
flight, so the retry that takes the key over runs the change a second time. With the completion
inside the change's own transaction, the change is not committed at that point, the crash rolls
it back and the retry runs it exactly once; a later retry replays that response.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from scripts.lib.live_server import LiveServer, live_server, server_env
from scripts.lib.services import create_database, drop_database, redis_url

pytestmark = pytest.mark.integration

KEY = "crash-retry-1"


@pytest.fixture
def database(pg_server: str) -> Iterator[str]:
    url = create_database(pg_server)
    try:
        yield url
    finally:
        drop_database(pg_server, url)


async def connect(url: str) -> asyncpg.Connection:
    sa_url = make_url(url)
    return await asyncpg.connect(
        user=sa_url.username,
        password=sa_url.password,
        host=sa_url.host,
        port=sa_url.port,
        database=sa_url.database,
    )


async def wait_for(conn: asyncpg.Connection, sql: str, *args: object) -> None:
    """Poll the database until ``sql`` returns a true value (a subprocess's progress)."""
    for _ in range(3000):
        if await conn.fetchval(sql, *args):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never true: {sql}")


def make_customer(server: LiveServer) -> dict[str, str]:
    email = f"customer-{uuid.uuid4().hex[:8]}@example.com"
    out = server.cli("users", "create", "--role", "customer", "--email", email)
    return {"Authorization": f"Bearer {out.strip().splitlines()[-1]}"}


async def crash_between_change_and_completion(
    server: LiveServer, url: str, headers: dict[str, str], ticket_id: str
) -> None:
    locker, holder = await connect(url), await connect(url)
    try:
        # 1. Hold the ticket's row lock: the server's transaction waits inside the request.
        ticket_lock = locker.transaction()
        await ticket_lock.start()
        await locker.execute("SELECT 1 FROM tickets WHERE id = $1 FOR UPDATE", uuid.UUID(ticket_id))
        request = asyncio.ensure_future(
            asyncio.to_thread(
                httpx.post,
                f"{server.base_url}/api/v1/tickets/{ticket_id}/conversations",
                json={"message": "only once"},
                headers={**headers, "Idempotency-Key": KEY},
                timeout=60,
            )
        )
        # 2. Once the key is claimed, hold the claim's row lock too, then let the request go on:
        #    it runs its change and stops where it completes the claim.
        await wait_for(holder, "SELECT count(*) = 1 FROM idempotency_keys WHERE key = $1", KEY)
        claim_lock = holder.transaction()
        await claim_lock.start()
        await holder.execute("SELECT 1 FROM idempotency_keys WHERE key = $1 FOR UPDATE", KEY)
        await ticket_lock.rollback()
        await wait_for(
            locker,
            "SELECT count(*) = 1 FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'helpline' AND wait_event_type = 'Lock'",
        )
        # 3. The crash.
        os.kill(server.pid, signal.SIGKILL)
        await claim_lock.rollback()
        with pytest.raises(httpx.TransportError):
            await request
        # The crashed claim is old enough to be taken over (instead of waiting for the timeout).
        await holder.execute(
            "UPDATE idempotency_keys SET created_at = now() - interval '1 hour'"
            " WHERE key = $1 AND response_status IS NULL",
            KEY,
        )
    finally:
        await locker.close()
        await holder.close()


async def messages(url: str, ticket_id: str) -> list[str]:
    conn = await connect(url)
    try:
        rows = await conn.fetch(
            "SELECT id FROM conversations WHERE ticket_id = $1 AND message = 'only once'",
            uuid.UUID(ticket_id),
        )
        return [str(row["id"]) for row in rows]
    finally:
        await conn.close()


class TestCrashBetweenChangeAndResponse:
    def test_retry_after_kill_runs_the_change_once_and_then_replays(
        self, database: str, services, run_id: str, tmp_path: Path
    ):
        redis = redis_url(services)
        env = server_env(
            database, redis, f"helpline-test-{run_id}-crash", HELPLINE_ACCESS_LOG="false"
        )
        with live_server(env, tmp_path / "a.log") as first:
            headers = make_customer(first)
            created = httpx.post(
                f"{first.base_url}/api/v1/tickets", json={"title": "crash"}, headers=headers
            )
            assert created.status_code == 201, created.text
            ticket_id = created.json()["id"]
            asyncio.run(crash_between_change_and_completion(first, database, headers, ticket_id))

        with live_server(env, tmp_path / "b.log") as second:
            url = f"{second.base_url}/api/v1/tickets/{ticket_id}/conversations"
            keyed = {**headers, "Idempotency-Key": KEY}
            retry = httpx.post(url, json={"message": "only once"}, headers=keyed, timeout=30)
            assert retry.status_code == 201, retry.text
            stored = asyncio.run(messages(database, ticket_id))
            assert stored == [retry.json()["id"]]  # one message, the one the retry answered
            again = httpx.post(url, json={"message": "only once"}, headers=keyed, timeout=30)
            assert again.status_code == 201
            assert again.headers["idempotent-replayed"] == "true"
            assert again.content == retry.content
            assert asyncio.run(messages(database, ticket_id)) == stored
