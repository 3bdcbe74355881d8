"""Metadata representations."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class MetadataPut(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"value": {"plan": "pro", "seats": 25}}]}
    )

    value: Any = Field(
        description="Any JSON value except null, at most 4 KiB serialized.",
        json_schema_extra={"not": {"type": "null"}},
    )


class MetadataEntry(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"key": "plan", "value": "pro"}]})

    key: str = Field(description="The metadata key.")
    value: Any = Field(description="The stored JSON value.")
