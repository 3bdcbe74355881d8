"""Budgets of the reports' rollup read path (issue 24): a report from the rollups is a fixed
number of statements whatever the period, interval or volume — zone check, sums, histograms —
pinned like the ticket list's (tests/performance/test_request_budgets.py)."""

from __future__ import annotations

import pytest

from tests.fixtures.actors import Cast
from tests.integration.reports.test_report_figures import BERLIN, tickets  # noqa: F401
from tests.performance.test_request_budgets import _warm_up, count, warm  # noqa: F401

pytestmark = pytest.mark.performance

YEAR = {
    "period_start": "2025-11-03T00:00:00+01:00",
    "period_end": "2026-11-05T00:00:00+01:00",
    "time_zone": "Europe/Berlin",
}


async def _report(client, cast: Cast, count, report: str, params: dict):  # noqa: F811
    with count() as tally:
        r = await client.get(f"/api/v1/reports/{report}", params=params, headers=cast.agent.headers)
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "rollup"
    return r.json(), tally


class TestRollupReadBudgets:
    @pytest.mark.parametrize(
        ("report", "extra", "statements"),
        [
            # zone ready?, the sums, the histograms
            ("first-response", {}, 3),
            ("resolution", {"measure": "full"}, 3),
            # zone ready?, the opening (days before), the moves, the bucket starts
            ("backlog", {}, 4),
            # zone ready?, the counts of three kinds in one statement
            ("reopens", {}, 2),
            ("volume", {"group_by": "agent"}, 2),
            ("volume", {"group_by": "channel"}, 2),
        ],
    )
    async def test_a_report_is_a_fixed_number_of_statements(
        self,
        client,
        cast: Cast,
        tickets,  # noqa: F811
        count,  # noqa: F811
        warm,  # noqa: F811
        report,
        extra,
        statements,
    ):
        await _warm_up(client, cast.agent.headers)
        # Three days by day, a year by day, and a year by week filtered by agent: the same count.
        for params in (
            {**BERLIN, **extra},
            {**YEAR, **extra},
            {**YEAR, **extra, "interval": "week", "agent": str(cast.agent.id)},
        ):
            body, tally = await _report(client, cast, count, report, params)
            if params["period_start"] == BERLIN["period_start"]:  # the fixture's tickets
                assert body["buckets"], body
            assert len(tally.sql) == statements, tally.sql
            assert tally.redis_trips == 1  # the rate limit
