"""Team representations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

EXAMPLE_TEAM: dict[str, Any] = {
    "id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b20",
    "name": "Billing",
    "description": "Invoices, refunds, plans.",
    "member_ids": ["0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b11"],
    "created_at": "2026-11-20T09:15:02Z",
    "updated_at": "2026-11-20T09:15:02Z",
}


class TeamCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Billing", "member_ids": []}]}
    )

    name: str = Field(min_length=1, max_length=100, description="Unique (case-insensitively).")
    description: str = Field("", max_length=2000, description="Free text.")
    member_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=500, description="Agents and admins in the team."
    )


class TeamUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100, description="New name.")
    description: str | None = Field(None, max_length=2000, description="New description.")
    member_ids: list[uuid.UUID] | None = Field(
        None, max_length=500, description="The whole member list (replaces it)."
    )


class TeamRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [EXAMPLE_TEAM]})

    id: uuid.UUID = Field(description="Team id.")
    name: str = Field(description="Name.")
    description: str = Field(description="Description.")
    member_ids: list[uuid.UUID] = Field(description="Members (agents and admins), by id.")
    created_at: datetime = Field(description="Creation time.")
    updated_at: datetime = Field(description="Last change.")
