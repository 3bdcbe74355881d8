"""Retention: keep the newest backup of each of the last N days and of the last M ISO weeks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import TypeVar

T = TypeVar("T")


def select_retained(
    items: Sequence[T], created_at: Callable[[T], datetime], keep_daily: int, keep_weekly: int
) -> list[T]:
    """The items to keep, newest first; the newest item is always kept.

    Days and weeks are UTC calendar buckets that contain a backup (a gap of missed days does not
    use up the allowance), like restic's and borg's ``--keep-daily/--keep-weekly``.
    """
    if keep_daily < 0 or keep_weekly < 0:
        raise ValueError("keep counts must be >= 0")
    ordered = sorted(items, key=created_at, reverse=True)
    kept: dict[int, T] = {}
    if ordered:
        kept[id(ordered[0])] = ordered[0]
    days: set[date] = set()
    weeks: set[tuple[int, int]] = set()
    for item in ordered:
        moment = created_at(item).astimezone(UTC)
        day = moment.date()
        if day not in days and len(days) < keep_daily:
            days.add(day)
            kept[id(item)] = item
        iso = moment.isocalendar()
        week = (iso.year, iso.week)
        if week not in weeks and len(weeks) < keep_weekly:
            weeks.add(week)
            kept[id(item)] = item
    return [item for item in ordered if id(item) in kept]
