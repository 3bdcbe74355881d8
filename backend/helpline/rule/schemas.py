"""Rule representations (also the YAML of `helpline rules export|import`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from helpline.automation.actions import Action
from helpline.automation.conditions import Conditions
from helpline.kit.patch import PatchBody

EXAMPLE_RULE: dict[str, Any] = {
    "name": "VIP tickets are urgent and go to Billing",
    "position": 10,
    "conditions": {
        "all": [{"field": "event", "op": "eq", "value": "ticket.created"}],
        "any": [
            {"field": "tags", "op": "includes", "value": "vip"},
            {"field": "metadata.plan", "op": "eq", "value": "enterprise"},
        ],
    },
    "actions": [
        {"type": "set", "field": "priority", "value": "urgent"},
        {"type": "assign_round_robin", "team_id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b20"},
    ],
}


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_RULE]})

    name: str = Field(min_length=1, max_length=100, description="Unique (case-insensitively).")
    description: str = Field("", max_length=2000, description="Free text.")
    position: int = Field(0, ge=0, le=1_000_000, description="Run order (ascending).")
    enabled: bool = Field(True, description="Disabled rules do not run.")
    once_per_ticket: bool = Field(False, description="Run at most once per ticket.")
    max_per_hour: int = Field(
        1000, ge=1, le=1_000_000, description="More executions in an hour disable the rule."
    )
    conditions: Conditions = Field(description='`{"all": [...], "any": [...]}`.')
    actions: list[Action] = Field(min_length=1, max_length=20, description="Actions, in order.")


class RuleUpdate(PatchBody):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100, description="New name.")
    description: str | None = Field(None, max_length=2000, description="New description.")
    position: int | None = Field(None, ge=0, le=1_000_000, description="New run order.")
    enabled: bool | None = Field(
        None, description="true re-enables a disabled rule and clears `disabled_reason`."
    )
    once_per_ticket: bool | None = Field(None, description="Run at most once per ticket.")
    max_per_hour: int | None = Field(
        None, ge=1, le=1_000_000, description="More executions in an hour disable the rule."
    )
    conditions: Conditions | None = Field(None, description="New conditions.")
    actions: list[Action] | None = Field(
        None, min_length=1, max_length=20, description="New actions."
    )


class RuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Rule id.")
    name: str = Field(description="Name.")
    description: str = Field(description="Description.")
    position: int = Field(description="Run order (ascending).")
    enabled: bool = Field(description="Whether the worker runs it.")
    once_per_ticket: bool = Field(description="Runs at most once per ticket.")
    max_per_hour: int = Field(description="More executions in an hour disable the rule.")
    conditions: dict[str, Any] = Field(description='`{"all": [...], "any": [...]}`.')
    actions: list[dict[str, Any]] = Field(description="Actions, in order.")
    disabled_reason: str | None = Field(description="Why it was disabled (by a failure, a rate).")
    created_at: datetime = Field(description="Creation time.")
    updated_at: datetime = Field(description="Last change.")


class DryRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=500, description="How many recently updated tickets.")
    event: str = Field("ticket.updated", description="The event kind the tickets are evaluated as.")
    rule: RuleCreate | None = Field(
        None, description="Evaluate this definition instead of the saved one (an edit)."
    )


class DryRunMatch(BaseModel):
    ticket_id: uuid.UUID = Field(description="A matching ticket.")
    number: int = Field(description="Its number.")
    title: str = Field(description="Its title.")
    due_at: datetime | None = Field(
        None,
        description="A time rule: when its time conditions hold (past: it runs at the next "
        "timer check); null for an event rule.",
    )
    changes: list[dict[str, Any]] = Field(description="What the actions would change.")


class DryRunResult(BaseModel):
    evaluated: int = Field(description="Tickets evaluated.")
    matched: list[DryRunMatch] = Field(description="The tickets that match, with the changes.")


class ExecutionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Log entry id (newest is highest).")
    rule_id: uuid.UUID = Field(description="The rule.")
    event_id: int | None = Field(
        description="The feed event evaluated (null: a time rule's timer, see `timer_basis`)."
    )
    timer_basis: str | None = Field(
        description="A time rule's timer: the start instants it was due from (null: an event)."
    )
    ticket_id: uuid.UUID = Field(description="The ticket of the event.")
    depth: int = Field(description="0: a change by a person; n: made by rules n levels deep.")
    status: str = Field(description="applied | no_change | skipped | failed.")
    effects: list[dict[str, Any]] = Field(description="What the actions changed.")
    reason: str | None = Field(description="Why it was skipped or failed.")
    executed_at: datetime = Field(description="When it ran.")
