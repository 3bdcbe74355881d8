"""PATCH bodies: a field that is present must not be ``null`` unless the resource allows it.

Pydantic gives every optional PATCH field ``None`` as "not given"; a client sending an explicit
``null`` for a field the resource cannot be without (a ticket's title, a calendar's holidays, a
policy's conditions) must get a 422 naming the field (``loc: ["body", <field>]``), not reach the
service as a value. Fields in ``NULLABLE`` take ``null`` as a value (unassign, no team).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError


class PatchBody(BaseModel):
    """A partial update; fields in ``NULLABLE`` may be set to ``null``, no others."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any, info: ValidationInfo) -> Any:
        # Runs only for fields present in the input (defaults are not validated), so a
        # missing field stays "not given" and an explicit null is refused where it is no value.
        if value is None and info.field_name not in cls.NULLABLE:
            raise PydanticCustomError("null", "may not be null")
        return value
