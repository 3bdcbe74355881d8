"""The pure parts of `scripts/bench scale`: which seed words count as rare and common, the
queries drawn from them (random, reproducible, never one fixed word), and the summary figures."""

from __future__ import annotations

import random

import pytest

from scripts.benchmarks.scale import (
    SEARCH_KINDS,
    draw_query,
    rare_and_common,
    summary,
    title_texts,
    word_shares,
)

pytestmark = pytest.mark.unit


class TestSearchWords:
    def test_shares_come_from_the_seed_text_and_stay_within_one(self):
        shares = word_shares()
        assert "webhook" in shares  # a title ("Webhook deliveries failing with timeout")
        assert "refund" in shares  # a title, an agent reply and an internal note
        assert all(0 < share <= 1 for share in shares.values())
        assert shares["webhook"] < shares["refund"]

    def test_titles_are_the_seeds_problems_with_each_product(self):
        titles = title_texts()
        assert "Cannot log in to the mobile app" in titles
        assert not any("{" in title for title in titles)

    def test_rare_and_common_are_disjoint_thirds_of_the_searchable_words(self):
        shares = {"alpha": 0.01, "beta": 0.02, "gamma": 0.5, "delta": 0.6, "with": 0.9, "mid": 0.1}
        rare, common = rare_and_common(shares, set(shares) - {"with"})  # "with": a stop word
        assert rare == ["alpha"]
        assert common == ["delta"]

    def test_the_real_vocabulary_splits_with_rare_words_rarer(self):
        shares = word_shares()
        rare, common = rare_and_common(shares, set(shares))
        assert rare
        assert common
        assert not set(rare) & set(common)
        assert max(shares[w] for w in rare) <= min(shares[w] for w in common)


class TestDrawnQueries:
    RARE = ["webhook", "discount", "shipping"]
    COMMON = ["error", "billing", "export"]

    def test_each_kind_draws_its_words(self):
        rng = random.Random(1)
        for _ in range(50):
            assert draw_query(rng, "rare", self.RARE, self.COMMON) in self.RARE
            assert draw_query(rng, "common", self.RARE, self.COMMON) in self.COMMON
            one, other = draw_query(rng, "mixed pair", self.RARE, self.COMMON).split()
            assert one in self.RARE
            assert other in self.COMMON
            one, other = draw_query(rng, "rare pair", self.RARE, self.COMMON).split()
            assert {one, other} <= set(self.RARE)
            assert one != other

    def test_the_same_seed_draws_the_same_queries_and_they_vary(self):
        def drawn(seed: int) -> list[str]:
            rng = random.Random(seed)
            return [draw_query(rng, k, self.RARE, self.COMMON) for k in SEARCH_KINDS * 10]

        assert drawn(26) == drawn(26)
        assert len(set(drawn(26))) > len(SEARCH_KINDS)  # not one fixed word a cache could serve


class TestSummary:
    def test_percentiles_and_max(self):
        times = [float(n) for n in range(1, 101)]
        assert summary(times) == {"p50": 51.0, "p99": 100.0, "max": 100.0}

    def test_no_calls_is_zeros(self):
        assert summary([]) == {"p50": 0.0, "p99": 0.0, "max": 0.0}
