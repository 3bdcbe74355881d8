"""API key, login and identity representations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr

from helpline.auth.permissions import Scope
from helpline.kit.emails import EmailAddress
from helpline.user.schemas import UserRead

MAX_GRACE_SECONDS = 30 * 24 * 3600

_KEY_EXAMPLE: dict[str, Any] = {
    "id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b10",
    "user_id": "0195f2a4-0000-7c3a-9d41-2f7c1e9a5b10",
    "name": "billing integration",
    "prefix": "hl_3kTq9ZrB",
    "scopes": ["tickets:read", "tickets:write"],
    "rate_limit_per_minute": 120,
    "expires_at": None,
    "revoked_at": None,
    "last_used_at": "2026-01-05T10:02:00Z",
    "created_at": "2026-01-05T09:30:00Z",
    "lineage_id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b10",
    "rotated_from_id": None,
}


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "billing integration",
                    "scopes": ["tickets:read", "tickets:write"],
                    "rate_limit_per_minute": 120,
                    "expires_at": "2027-01-01T00:00:00Z",
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=100, description="Label of the key.")
    scopes: list[Scope] | None = Field(
        None,
        max_length=len(Scope),
        description="Scopes to grant; each must be allowed by the owner's role. "
        "Default: everything the role allows.",
    )
    expires_at: AwareDatetime | None = Field(
        None, description="Expiry (RFC 3339, in the future); null = no expiry."
    )
    rate_limit_per_minute: int | None = Field(
        None, ge=1, le=100_000, description="Requests per minute; null = the server default."
    )
    user_id: uuid.UUID | None = Field(None, description="Owner (admins only; default: the caller).")


class ApiKeyRotate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"grace_period_seconds": 86400}]}
    )

    grace_period_seconds: int = Field(
        86_400,
        ge=0,
        le=MAX_GRACE_SECONDS,
        description="How long the old key keeps working (0 = stops now; at most 30 days).",
    )


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_KEY_EXAMPLE]})

    id: uuid.UUID = Field(description="Key id.")
    user_id: uuid.UUID = Field(description="Owner.")
    name: str = Field(description="Label of the key.")
    prefix: str = Field(description="First characters of the key, to recognise it.")
    scopes: list[str] = Field(description="Granted scopes (effective: ∩ the owner's role).")
    rate_limit_per_minute: int | None = Field(description="Per-key limit; null = default.")
    expires_at: datetime | None = Field(description="Expiry; null = none.")
    revoked_at: datetime | None = Field(description="Revocation time; null = not revoked.")
    last_used_at: datetime | None = Field(description="Last use (updated about once a minute).")
    created_at: datetime = Field(description="Creation time.")
    lineage_id: uuid.UUID = Field(description="Shared by a key and all its rotations.")
    rotated_from_id: uuid.UUID | None = Field(description="The key this one replaced.")


class ApiKeyCreated(ApiKeyRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**_KEY_EXAMPLE, "key": "hl_3kTq9ZrB" + "x" * 32 + "0a1B2c"}]
        }
    )

    key: str = Field(description="The secret. Shown only in this response; store it now.")


class LoginRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"email": "dana@example.com", "password": "correct horse battery"}]  # nosec B105
        },
    )

    email: EmailAddress = Field(description="Account email (case-insensitive).")
    password: SecretStr = Field(min_length=1, max_length=1024, description="Password.")


class LoginResult(BaseModel):
    user: UserRead = Field(description="The logged-in user.")
    csrf_token: str = Field(
        description="Send as `X-CSRF-Token` on every POST/PUT/PATCH/DELETE using the cookie."
    )
    expires_in: int = Field(description="Idle lifetime of the session in seconds (sliding).")


class Me(UserRead):
    scopes: list[str] = Field(description="Effective permissions of this request's credentials.")
    authenticated_by: str = Field(description="`api_key` or `session`.")
    api_key_id: uuid.UUID | None = Field(description="The key used, if any.")


class PasswordChange(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "current_password": "correct horse battery staple",  # nosec B105 - an OpenAPI example
                    "new_password": "tangerine-Kettle-47-orbit",  # nosec B105 - an OpenAPI example
                }
            ]
        },
    )

    current_password: SecretStr = Field(
        min_length=1, max_length=1024, description="The password in use now."
    )
    new_password: SecretStr = Field(
        min_length=1,
        max_length=1024,
        description="The new password (≥ 12 characters, not common, not the email or name).",
    )


class PasswordResetIssued(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "user_id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b10",
                    "token": "hlr_Q2hhbmdlIG1lIGluIHRoZSBuZXh0IDI0IGhvdXJz",  # nosec B105 - an OpenAPI example
                    "expires_in": 86400,
                }
            ]
        }
    )

    user_id: uuid.UUID = Field(description="The user the token is for.")
    token: str = Field(
        description="Single-use reset token, shown only in this response; hand it to the user. "
        "Issuing another token replaces it."
    )
    expires_in: int = Field(description="Seconds until the token expires.")


class PasswordResetRedeem(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "token": "hlr_Q2hhbmdlIG1lIGluIHRoZSBuZXh0IDI0IGhvdXJz",  # nosec B105 - an OpenAPI example
                    "new_password": "tangerine-Kettle-47-orbit",  # nosec B105 - an OpenAPI example
                }
            ]
        },
    )

    token: SecretStr = Field(min_length=1, max_length=100, description="The token an admin issued.")
    new_password: SecretStr = Field(
        min_length=1,
        max_length=1024,
        description="The new password (≥ 12 characters, not common, not the email or name).",
    )
