"""The worker writes metric facts from the change feed, exactly once with two workers; the
backfill writes the same facts for tickets the feed never showed, and repeats nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from helpline.config import Settings
from helpline.db import Database, make_engine
from helpline.models.enums import Role
from helpline.report import runner
from tests.fixtures.factories import make_message, make_ticket, make_user

pytestmark = pytest.mark.integration


@pytest.fixture
def committed_url(make_database) -> str:
    return make_database()


@pytest.fixture
async def databases(committed_url: str, settings: Settings):
    one = Database(make_engine(committed_url, settings, pool_size=4))
    two = Database(make_engine(committed_url, settings, pool_size=4))
    yield one, two
    await one.dispose()
    await two.dispose()


async def facts(db: Database) -> list[tuple[str, int]]:
    async with db.transaction() as s:
        rows = await s.execute(
            text("SELECT kind, seq FROM ticket_metric_facts ORDER BY kind, seq, ticket_id")
        )
        return [(r.kind, r.seq) for r in rows]


async def test_two_workers_write_each_fact_once(databases) -> None:
    one, two = databases
    async with one.transaction() as s:
        customer = await make_user(s)
        agent = await make_user(s, Role.agent)
        tickets = [await make_ticket(s, customer.id) for _ in range(30)]
        for t in tickets[:10]:
            await make_message(s, t, agent.id, sender_type="agent", is_internal=True)
            await make_message(s, t, None, sender_type="system")
        for t in tickets[10:]:
            await make_message(s, t, agent.id, sender_type="agent")
    # Small batches, so both workers take turns at the position.
    read = await asyncio.gather(runner.follow_feed(one, batch=7), runner.follow_feed(two, batch=7))
    assert sum(read) >= 30 + 40  # 30 tickets created, 40 messages (and their version bumps)
    assert await facts(one) == [("created", 1)] * 30 + [("first_response", 1)] * 20
    async with one.transaction() as s:
        await s.execute(
            text("UPDATE tickets SET status = 'solved' WHERE id = ANY(:ids)"), {"ids": tickets[:5]}
        )
    async with one.transaction() as s:
        await s.execute(
            text("UPDATE tickets SET status = 'open' WHERE id = ANY(:ids)"), {"ids": tickets[:2]}
        )
    await asyncio.gather(runner.follow_feed(one), runner.follow_feed(two))
    got = await facts(one)
    assert got.count(("solved", 1)) == 5
    assert got.count(("reopened", 1)) == 2
    # The backfill finds nothing new; with the facts gone it writes the same ones again.
    assert await runner.backfill(one, batch=8) == (30, 0)
    async with one.transaction() as s:
        await s.execute(text("DELETE FROM ticket_metric_facts"))
    assert await runner.backfill(one, batch=8) == (30, 57)
    assert await facts(one) == got


def helpline(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from helpline.cli.main import app; app()", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )


async def test_backfill_command_writes_history_facts_once(
    committed_url: str, databases, settings: Settings
) -> None:
    one, _ = databases
    async with one.transaction() as s:
        customer = await make_user(s)
        agent = await make_user(s, Role.agent)
        for _ in range(3):
            t = await make_ticket(s, customer.id)
            await make_message(s, t, agent.id, sender_type="agent")
    env = {
        "HELPLINE_ENV": "test",
        "HELPLINE_DATABASE_URL": committed_url,
        "HELPLINE_REDIS_KEY_PREFIX": settings.redis_key_prefix + "-cli",
    }
    first = await asyncio.to_thread(helpline, ["reports", "backfill", "--no-progress"], env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1] == "read 3 tickets, wrote 6 facts"
    again = await asyncio.to_thread(helpline, ["reports", "backfill", "--batch", "2"], env)
    assert again.stdout.strip().splitlines()[-1] == "read 3 tickets, wrote 0 facts"
    assert await facts(one) == [("created", 1)] * 3 + [("first_response", 1)] * 3
