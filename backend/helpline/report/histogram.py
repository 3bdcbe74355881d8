"""A fixed log-scale histogram of seconds, for medians and 90th percentiles from rollups.

Bin 0 holds 0 s; bin k ≥ 1 holds [G^(k-1), G^k) with G = 1.1, up to G^226 ≈ 2.3e9 s (73 years).
A value is represented by its bin's ``2·lo·hi/(lo+hi)``, which is within (G-1)/(G+1) ≈ 4.76 % of
every value in the bin; a quantile interpolated between two such representatives (as
``percentile_cont`` interpolates between two values) keeps that bound. Pure: no I/O.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence

GAMMA = 1.1
BINS = 227
RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)
# BOUNDS[k] is the lower edge of bin k + 1: a value v ≥ 1 falls in bin bisect_right(BOUNDS, v).
BOUNDS = [GAMMA**k for k in range(BINS - 1)]
REPRESENTATIVE = [0.0] + [2 * lo * lo * GAMMA / (lo + lo * GAMMA) for lo in BOUNDS]


def bin_of(seconds: float) -> int:
    """The bin of a non-negative number of seconds (huge values land in the last bin)."""
    if seconds < 1:
        return 0
    return min(bisect_right(BOUNDS, seconds), BINS - 1)


def quantile(counts: Mapping[int, int] | Sequence[int], q: float) -> float | None:
    """``percentile_cont(q)`` of the values counted (per bin: a dense list, or a bin → count
    mapping), each taken as its bin's representative."""
    pairs = sorted(counts.items()) if isinstance(counts, Mapping) else enumerate(counts)
    items = [(b, c) for b, c in pairs if c > 0]
    n = sum(c for _, c in items)
    if n <= 0:
        return None
    rank = q * (n - 1)
    below = math.floor(rank)
    frac = rank - below
    lo_value = _value_at(items, below)
    if frac == 0:
        return lo_value
    return lo_value + frac * (_value_at(items, below + 1) - lo_value)


def _value_at(items: list[tuple[int, int]], index: int) -> float:
    seen = 0
    for b, c in items:
        seen += c
        if seen > index:
            return REPRESENTATIVE[b]
    return REPRESENTATIVE[items[-1][0]]
