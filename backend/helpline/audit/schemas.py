"""Representations of audit events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEventRead(BaseModel):
    """One audit event: a data change (trigger) or an auth/system event (application)."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Event id (increasing within a partition).")
    occurred_at: datetime = Field(description="When it happened (UTC).")
    actor_type: str = Field(description="user | api_key | system | anonymous.")
    actor_id: uuid.UUID | None = Field(description="Acting user, if any.")
    api_key_id: uuid.UUID | None = Field(description="API key used, if any.")
    action: str = Field(description="Dotted action, e.g. `ticket.updated`, `auth.failed`.")
    entity_type: str | None = Field(description="Kind of object affected, e.g. `ticket`.")
    entity_id: str | None = Field(description="Id of the object affected.")
    request_id: str | None = Field(description="Request that caused the event.")
    ip: str | None = Field(description="Client address of that request.")
    changes: Any | None = Field(description="What changed; never secrets.")
    outcome: str = Field(description="success | failure | denied.")


@dataclass(frozen=True, slots=True)
class AuditEventFilters:
    actor_id: uuid.UUID | None = None
    actor_type: str | None = None
    actions: tuple[str, ...] = ()
    entity_type: str | None = None
    entity_id: str | None = None
    request_id: str | None = None
    outcome: str | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None


@dataclass(slots=True)
class AuditEvent:
    """An application event on its way to the audit_log (auth, permission, system)."""

    action: str
    occurred_at: datetime
    outcome: str = "success"
    actor_type: str = "system"
    actor_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    request_id: str | None = None
    ip: str | None = None
    changes: dict[str, Any] | None = None

    def row(self) -> dict[str, Any]:
        return {
            "occurred_at": self.occurred_at,
            "actor_type": self.actor_type,
            "actor_id": self.actor_id,
            "api_key_id": self.api_key_id,
            "action": self.action,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "request_id": self.request_id,
            "ip": self.ip,
            "changes": self.changes,
            "outcome": self.outcome,
        }
