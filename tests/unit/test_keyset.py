"""The one keyset pager (kit/pagination.Keyset): decode, limit + 1, trim, encode."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from helpline.kit.cursor import InvalidCursor, encode_cursor
from helpline.kit.pagination import Keyset, time_and_id, time_and_id_of

pytestmark = pytest.mark.unit

SECRET = b"s" * 32


@dataclass
class Row:
    id: uuid.UUID
    created_at: datetime


KEYSET: Keyset[Row, tuple[datetime, uuid.UUID]] = Keyset(
    "-created_at", time_and_id_of(lambda r: r.created_at), time_and_id(uuid.UUID)
)
START = datetime(2026, 1, 1, tzinfo=UTC)


def rows(n: int) -> list[Row]:
    return [Row(uuid.uuid4(), START - timedelta(minutes=i)) for i in range(n)]


class TestKeyset:
    def test_the_extra_row_means_a_next_page_that_continues_after_the_last_row(self):
        fetched = rows(4)  # a repository asked for limit + 1 = 4
        page = KEYSET.page(SECRET, fetched, 3)
        assert page.rows == fetched[:3]
        assert page.next_cursor is not None
        assert KEYSET.after(SECRET, page.next_cursor) == (fetched[2].created_at, fetched[2].id)

    def test_a_short_fetch_is_the_last_page(self):
        fetched = rows(3)
        page = KEYSET.page(SECRET, fetched, 3)
        assert (page.rows, page.next_cursor) == (fetched, None)

    def test_no_cursor_is_the_first_page(self):
        assert KEYSET.after(SECRET, None) is None
        assert KEYSET.after(SECRET, "") is None

    @pytest.mark.parametrize(
        "cursor",
        [
            encode_cursor(SECRET, "created_at", [START.isoformat(), str(uuid.uuid4())]),  # foreign
            encode_cursor(b"x" * 32, "-created_at", [START.isoformat(), str(uuid.uuid4())]),
            encode_cursor(SECRET, "-created_at", ["not a time", str(uuid.uuid4())]),
            encode_cursor(SECRET, "-created_at", [START.isoformat()]),  # one value short
            "%%%",
        ],
        # Ids that do not hold the random uuids: pytest-xdist workers must collect the same tests.
        ids=["foreign-sort", "forged-secret", "not-a-time", "one-value-short", "not-base64"],
    )
    def test_a_forged_foreign_or_malformed_cursor_is_refused(self, cursor: str):
        with pytest.raises(InvalidCursor):
            KEYSET.after(SECRET, cursor)
