"""Many rows in one statement: each column travels as one array parameter and ``unnest`` turns
the arrays back into rows. An executemany costs a round trip per row, and a many-row VALUES list
costs seconds to compile; this is one short statement whatever the number of rows.

Only constant table and column names and SQL types are formatted into the text; every value is a
bound parameter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

ColumnTypes = Mapping[str, str]
"""Column name → PostgreSQL type of one element (``uuid``, ``bigint``, …), in column order."""


def unnest(types: ColumnTypes) -> str:
    """``unnest(CAST(:a AS uuid[]), CAST(:b AS text[]), …)``: the rows of the column arrays."""
    return "unnest(" + ", ".join(f"CAST(:{c} AS {t}[])" for c, t in types.items()) + ")"


def insert_rows(table: str, types: ColumnTypes, on_conflict: str) -> str:
    """``INSERT INTO table (columns) SELECT * FROM unnest(…) <on_conflict>``."""
    columns = ", ".join(types)
    return f"INSERT INTO {table} ({columns}) SELECT * FROM {unnest(types)} {on_conflict}"  # noqa: S608  # nosec B608


def as_arrays(rows: Iterable[Mapping[str, Any]], types: ColumnTypes) -> dict[str, list[Any]]:
    """The parameters of :func:`unnest`: one list per column, the rows in order."""
    rows = list(rows)
    return {c: [r[c] for r in rows] for c in types}
