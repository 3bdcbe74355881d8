"""User representations."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from helpline.kit.emails import EmailAddress
from helpline.models.enums import Role


class UserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "dana@example.com",
                    "name": "Dana Agent",
                    "role": "agent",
                    "password": "correct horse battery staple",  # nosec B105 - an example
                }
            ]
        },
    )

    email: EmailAddress = Field(description="Email address, unique case-insensitively.")
    name: str = Field(min_length=1, max_length=200, description="Display name.")
    role: Role = Field(description="admin | agent | customer.")
    password: SecretStr | None = Field(
        None,
        description="Password for the web interface (≥ 12 characters, not common, not the "
        "email or name); stored as an argon2 hash, never returned. Omit for API-key-only users.",
    )


class UserUpdate(BaseModel):
    """Fields an admin may change; anything else in the body is rejected (422)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"role": "customer"}, {"is_active": False}]},
    )

    name: str | None = Field(None, min_length=1, max_length=200, description="Display name.")
    role: Role | None = Field(None, description="New role; takes effect on the next request.")
    is_active: bool | None = Field(
        None, description="false ends the user's sessions and disables their keys at once."
    )
    password: SecretStr | None = Field(
        None, description="New password (strength-checked); ends the user's sessions."
    )


class UserRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b10",
                    "email": "dana@example.com",
                    "name": "Dana Agent",
                    "role": "agent",
                    "is_active": True,
                    "created_at": "2026-01-05T09:30:00Z",
                    "updated_at": "2026-01-05T09:30:00Z",
                }
            ]
        },
    )

    id: uuid.UUID = Field(description="User id (UUIDv7).")
    email: str = Field(description="Email address.")
    name: str = Field(description="Display name.")
    role: Role = Field(description="admin | agent | customer.")
    is_active: bool = Field(description="Inactive users cannot authenticate.")
    created_at: datetime = Field(description="Creation time (UTC).")
    updated_at: datetime = Field(description="Time of the last change (UTC).")
