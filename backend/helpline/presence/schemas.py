"""Representations of presence."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class PresenceState(StrEnum):
    viewing = "viewing"
    replying = "replying"


class PresenceUpdate(BaseModel):
    """What the caller is doing on the ticket now."""

    state: PresenceState = Field(description="`viewing` the ticket, or `replying` (typing).")


class PresenceRead(BaseModel):
    """One staff member on one ticket, until ``expires_at`` unless renewed."""

    ticket_id: uuid.UUID = Field(description="The ticket.")
    user_id: uuid.UUID = Field(description="The staff member.")
    state: PresenceState = Field(description="`viewing` or `replying`.")
    expires_at: datetime = Field(description="Gone after this instant unless renewed (UTC).")


class PresenceList(BaseModel):
    """Everyone present, on one ticket or on all."""

    data: list[PresenceRead] = Field(description="Current presence, by ticket then user.")
    ttl_s: int = Field(description="Seconds a presence lasts without renewal: renew well within.")
