"""PATCH bodies: a field that is present must not be ``null`` unless the resource allows it.

Pydantic gives every optional PATCH field ``None`` as "not given"; a client sending an explicit
``null`` for a field the resource cannot be without (a calendar's holidays, a policy's
conditions) must get a 422 naming the field, not reach the service as a value.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, model_validator
from pydantic_core import PydanticCustomError


class PatchBody(BaseModel):
    """A partial update; fields in ``NULLABLE`` may be set to ``null``, no others."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _refuse_null(self) -> PatchBody:
        nulls = sorted(
            f for f in self.model_fields_set if getattr(self, f) is None and f not in self.NULLABLE
        )
        if nulls:
            raise PydanticCustomError(
                "null", "may not be null: {fields}", {"fields": ", ".join(nulls)}
            )
        return self
