"""The rollups' log-scale histogram: a quantile from it is within the stated relative error of
``percentile_cont`` over the exact values; and a ticket's contributions (pure)."""

from __future__ import annotations

import math
from collections import namedtuple
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpline.report.histogram import BINS, RELATIVE_ERROR, bin_of, quantile
from helpline.report.rollup import contributions

pytestmark = pytest.mark.unit


def percentile_cont(values: list[int], q: float) -> float:
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    lo = math.floor(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (rank - lo) * (ordered[hi] - ordered[lo])


def histogram(values: list[int]) -> list[int]:
    counts = [0] * BINS
    for v in values:
        counts[bin_of(v)] += 1
    return counts


class TestHistogram:
    @given(
        st.lists(st.integers(min_value=0, max_value=2_000_000_000), min_size=1, max_size=300),
        st.sampled_from([0.0, 0.1, 0.5, 0.9, 0.99, 1.0]),
    )
    def test_quantile_within_the_stated_relative_error(self, values, q) -> None:
        exact = percentile_cont(values, q)
        estimate = quantile(histogram(values), q)
        assert estimate is not None
        assert abs(estimate - exact) <= RELATIVE_ERROR * exact + 1e-9

    def test_the_stated_error_is_under_five_percent(self) -> None:
        assert RELATIVE_ERROR < 0.048

    def test_empty_has_no_quantile(self) -> None:
        assert quantile([0] * BINS, 0.5) is None

    @given(st.integers(min_value=1, max_value=2_000_000_000))
    def test_bins_are_ordered(self, value) -> None:
        assert bin_of(value - 1) <= bin_of(value)


Fact = namedtuple("Fact", "kind seq occurred_at calendar_seconds business_seconds")
T = datetime(2026, 11, 3, tzinfo=UTC)


class TestContributions:
    def test_a_reopen_withdraws_the_full_resolution_until_solved_again(self) -> None:
        created = Fact("created", 1, T, None, None)
        solved = Fact("solved", 1, T, 10, 5)
        reopened = Fact("reopened", 1, T, 20, None)
        again = Fact("solved", 2, T, 40, 9)
        kinds = lambda facts: sorted(c.kind for c in contributions(facts))  # noqa: E731
        assert kinds([created, solved]) == ["created", "solved", "solved_final", "solved_first"]
        assert kinds([created, solved, reopened]) == [
            "created",
            "reopened",
            "reopened_first_solve",
            "solved",
            "solved_first",
        ]
        final = [
            c for c in contributions([created, solved, reopened, again]) if c.kind == "solved_final"
        ]
        assert [(c.calendar, c.business) for c in final] == [(40, 9)]
