"""User representations."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from helpline.models.enums import Role


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(description="Email address, unique case-insensitively.")
    name: str = Field(min_length=1, max_length=200, description="Display name.")
    role: Role = Field(description="admin | agent | customer.")


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="User id (UUIDv7).")
    email: str = Field(description="Email address.")
    name: str = Field(description="Display name.")
    role: Role = Field(description="admin | agent | customer.")
    is_active: bool = Field(description="Inactive users cannot authenticate.")
    created_at: datetime = Field(description="Creation time (UTC).")
    updated_at: datetime = Field(description="Time of the last change (UTC).")
