"""Representations of drafts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from helpline.models.ticket_draft import DRAFT_MAX_CHARS


class DraftWrite(BaseModel):
    """The composer's content as it is now."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(max_length=DRAFT_MAX_CHARS, description="The text typed so far.")
    is_internal: bool = Field(False, description="Meant as an internal note (staff only).")


class DraftRead(BaseModel):
    """The caller's draft on the ticket."""

    model_config = ConfigDict(from_attributes=True)

    body: str = Field(description="The text typed so far.")
    is_internal: bool = Field(description="Meant as an internal note.")
    updated_at: datetime = Field(description="When it was last saved (UTC).")
