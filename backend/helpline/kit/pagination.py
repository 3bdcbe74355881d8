"""The list envelope shared by every collection endpoint, and the one keyset pager."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel, Field

from helpline.kit.cursor import InvalidCursor, decode_cursor, encode_cursor

T = TypeVar("T")

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


class PageMeta(BaseModel):
    next_cursor: str | None = Field(
        description="Opaque cursor of the next page; null on the last page."
    )
    has_more: bool = Field(description="Whether another page follows.")


class Page(BaseModel, Generic[T]):
    data: list[T] = Field(description="The items of this page.")
    meta: PageMeta = Field(description="Pagination state.")

    @classmethod
    def of(cls, data: list[T], next_cursor: str | None) -> Self:
        """The envelope of one keyset page: ``has_more`` is whether a next cursor exists."""
        return cls(
            data=data, meta=PageMeta(next_cursor=next_cursor, has_more=next_cursor is not None)
        )


R = TypeVar("R")
K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class KeysetPage(Generic[R]):
    """One page of rows and the cursor of the next page (None on the last page)."""

    rows: list[R]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Keyset(Generic[R, K]):
    """One keyset ordering: the name signed into its cursors (a cursor of another ordering is
    refused), the position of a row, and how a cursor's values become the key to continue after.

    Every list does the same three things with it: ``after(cursor)`` before the query, a
    repository that returns ``limit + 1`` rows, ``page(rows, limit)`` after. A malformed, forged or
    foreign cursor raises :class:`~helpline.kit.cursor.InvalidCursor` (a 400 problem, REST and
    GraphQL alike).
    """

    order: str
    position: Callable[[R], list[Any]]
    parse: Callable[[list[Any]], K]

    def after(self, secret: bytes, cursor: str | None) -> K | None:
        """The key to continue after (None: the first page)."""
        if not cursor:
            return None
        values = decode_cursor(secret, self.order, cursor)
        try:
            return self.parse(values)
        except (ValueError, TypeError, IndexError) as exc:
            raise InvalidCursor("cursor does not hold a position of this list") from exc

    def cursor(self, secret: bytes, row: R) -> str:
        """The cursor that continues the list after ``row``."""
        return encode_cursor(secret, self.order, self.position(row))

    def page(self, secret: bytes, rows: list[R], limit: int) -> KeysetPage[R]:
        """The page of the ``limit + 1`` rows a repository returned: the extra row only says
        that a next page exists."""
        if len(rows) <= limit:
            return KeysetPage(rows, None)
        rows = rows[:limit]
        return KeysetPage(rows, self.cursor(secret, rows[-1]))


def time_and_id(id_type: Callable[[Any], K]) -> Callable[[list[Any]], tuple[datetime, K]]:
    """Parse the ``[timestamp, id]`` values of a time-ordered keyset."""

    def parse(values: list[Any]) -> tuple[datetime, K]:
        timestamp, ident = values
        return datetime.fromisoformat(timestamp), id_type(ident)

    return parse


def time_and_id_of(
    timestamp: Callable[[Any], datetime],
) -> Callable[[Any], list[Any]]:
    """The ``[timestamp, id]`` position of a row of a time-ordered keyset."""

    def position(row: Any) -> list[Any]:
        return [timestamp(row).isoformat(), str(row.id)]

    return position
