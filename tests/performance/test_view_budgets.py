"""Budgets of the saved views' requests and of the console bootstrap (issue 23): the console
asks for them on every load, so they are pinned like the ticket list's
(tests/performance/test_request_budgets.py)."""

from __future__ import annotations

import pytest

from tests.fixtures.actors import Cast
from tests.performance.test_request_budgets import _warm_up, count, warm  # noqa: F401

pytestmark = pytest.mark.performance

API = "/api/v1/views"


class TestViewBudgets:
    async def test_list_is_one_statement_and_one_redis_trip(
        self,
        client,
        cast: Cast,
        count,  # noqa: F811
        warm,  # noqa: F811
    ):
        for name in ("A", "B", "C"):
            r = await client.post(API, json={"name": name}, headers=cast.agent.headers)
            assert r.status_code == 201, r.text
        await _warm_up(client, cast.agent.headers)
        with count() as tally:
            r = await client.get(API, headers=cast.agent.headers)
        assert r.status_code == 200
        assert [v["name"] for v in r.json()] == ["A", "B", "C"]
        assert len(tally.sql) == 1, tally.sql  # the caller's views, ordered
        assert tally.redis_trips == 1  # the rate limit

    async def test_create_and_update(self, client, cast: Cast, count, warm):  # noqa: F811
        await _warm_up(client, cast.agent.headers)
        with count() as create:
            r = await client.post(
                API, json={"name": "Mine", "is_default": True}, headers=cast.agent.headers
            )
        assert r.status_code == 201, r.text
        with count() as update:
            renamed = await client.patch(
                f"{API}/{r.json()['id']}", json={"name": "Ours"}, headers=cast.agent.headers
            )
        assert renamed.status_code == 200
        # actor context, the owner's lock, the old default cleared, the insert (cap, position
        # and name checked in it)
        assert len(create.sql) == 4, create.sql
        assert len(update.sql) == 3, update.sql  # actor context, the lock, the update
        assert create.redis_trips == update.redis_trips == 1


class TestConsoleBootstrapBudget:
    async def test_bootstrap_is_four_statements_and_one_redis_trip(
        self,
        client,
        cast: Cast,
        count,  # noqa: F811
        warm,  # noqa: F811
    ):
        r = await client.post(
            "/api/v1/teams",
            json={"name": "Billing", "member_ids": [str(cast.agent.id)]},
            headers=cast.admin.headers,
        )
        assert r.status_code == 201, r.text
        for name in ("A", "B"):
            r = await client.post(API, json={"name": name}, headers=cast.agent.headers)
            assert r.status_code == 201, r.text
        await _warm_up(client, cast.agent.headers)
        with count() as staff:
            r = await client.get("/api/v1/console", headers=cast.agent.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert [len(body["teams"]), len(body["views"])] == [1, 2]
        assert len(body["staff"]) >= 2
        # the caller, the teams with their members, the saved views, the staff directory:
        # however many teams, views or staff there are
        assert len(staff.sql) == 4, staff.sql
        assert staff.redis_trips == 1  # the rate limit
        await _warm_up(client, cast.alice.headers)
        with count() as customer:
            r = await client.get("/api/v1/console", headers=cast.alice.headers)
        assert r.status_code == 200
        assert len(customer.sql) == 1, customer.sql  # only the caller
        assert customer.redis_trips == 1
