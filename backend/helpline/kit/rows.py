"""Typing helper for SQLAlchemy Core result rows of any shape."""

from typing import Any

from sqlalchemy import Row

AnyRow = Row[*tuple[Any, ...]]
