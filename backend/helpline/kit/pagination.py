"""The list envelope shared by every collection endpoint."""

from typing import Generic, Self, TypeVar

from pydantic import BaseModel, Field

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
