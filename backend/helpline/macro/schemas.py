"""Macro representations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from helpline.automation.actions import Action
from helpline.ticket.schemas import TicketRead

EXAMPLE_MACRO: dict[str, Any] = {
    "name": "Password reset link",
    "body": "Hi {{ customer.name }},\n\nI have sent a new reset link for #{{ ticket.number }}.\n"
    "\n{{ agent.name }}",
    "actions": [
        {"type": "set", "field": "status", "value": "pending"},
        {"type": "add_tags", "tags": ["password"]},
    ],
    "shared": True,
}


class MacroCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_MACRO]})

    name: str = Field(min_length=1, max_length=100, description="Shown in the picker.")
    body: str = Field(
        "",
        max_length=20_000,
        description="Reply template: `{{ ticket.<field> }}`, `{{ customer.name }}`, "
        "`{{ agent.name }}` … (unknown placeholders and other constructs → 422).",
    )
    actions: list[Action] = Field(default_factory=list, max_length=20, description="Actions.")
    shared: bool = Field(False, description="Shared with every agent (admins only); else yours.")


class MacroUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100, description="New name.")
    body: str | None = Field(None, max_length=20_000, description="New template.")
    actions: list[Action] | None = Field(None, max_length=20, description="New actions.")


class MacroRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Macro id.")
    name: str = Field(description="Name.")
    body: str = Field(description="Reply template.")
    actions: list[dict[str, Any]] = Field(description="Actions.")
    owner_id: uuid.UUID | None = Field(description="Owner of a personal macro; null: shared.")
    usage_count: int = Field(description="Times applied.")
    last_used_at: datetime | None = Field(description="Last application.")
    created_at: datetime = Field(description="Creation time.")
    updated_at: datetime = Field(description="Last change.")


class MacroApply(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"ticket_id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b10"}]},
    )

    ticket_id: uuid.UUID = Field(description="The ticket to apply it to.")
    apply: bool = Field(
        False,
        description="false (default): only render the reply and list the changes (the "
        "composer's preview); true: apply the actions now and count the use.",
    )


class MacroApplied(BaseModel):
    reply: str = Field(description="The rendered reply, for the composer (never sent here).")
    changes: list[dict[str, Any]] = Field(
        description="What the actions change (or would change): `{type, …}` each."
    )
    applied: bool = Field(description="Whether the actions were applied.")
    ticket: TicketRead | None = Field(None, description="The ticket after the actions.")
