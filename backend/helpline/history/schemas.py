"""Representations of ticket history entries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class HistoryEntryRead(BaseModel):
    """One field-level change of a ticket (written by database triggers)."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Entry id (increasing; the keyset order).")
    ticket_id: uuid.UUID = Field(description="Ticket the change belongs to.")
    change_type: str = Field(description="created, status_changed, … (see DESIGN §4).")
    changed_by: uuid.UUID | None = Field(description="Acting user; null for system changes.")
    timestamp: datetime = Field(description="When the change was committed (UTC).")
    old_value: Any | None = Field(description="Value before the change.")
    new_value: Any | None = Field(description="Value after the change.")
    change_set_id: uuid.UUID = Field(description="Groups the entries of one request.")
    request_id: str | None = Field(description="Request that made the change.")
