"""Identifiers: UUIDv7, generated in the application (time-ordered, B-tree friendly)."""

import uuid

from uuid_utils.compat import uuid7


def new_id() -> uuid.UUID:
    """A fresh UUIDv7 as a standard-library UUID."""
    return uuid7()
