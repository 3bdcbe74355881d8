"""The console bootstrap's representation."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from helpline.account.schemas import Me
from helpline.models.enums import Role
from helpline.team.schemas import EXAMPLE_TEAM, TeamRead
from helpline.view.schemas import EXAMPLE_VIEW, ViewRead

MAX_STAFF = 2000

EXAMPLE_CONSOLE: dict[str, Any] = {
    "me": {
        "id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b11",
        "email": "dana@example.com",
        "name": "Dana Agent",
        "role": "agent",
        "is_active": True,
        "created_at": "2026-01-05T09:30:00Z",
        "updated_at": "2026-01-05T09:30:00Z",
        "scopes": ["tickets:read", "tickets:write", "users:read"],
        "authenticated_by": "session",
        "api_key_id": None,
    },
    "teams": [EXAMPLE_TEAM],
    "staff": [
        {
            "id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b11",
            "name": "Dana Agent",
            "email": "dana@example.com",
            "role": "agent",
        }
    ],
    "staff_complete": True,
    "views": [EXAMPLE_VIEW],
}


class StaffMember(BaseModel):
    """An active agent or admin, as the console names them and offers them as assignees."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="User id.")
    name: str = Field(description="Display name.")
    email: str = Field(description="Email address.")
    role: Role = Field(description="`agent` or `admin`.")


class ConsoleRead(BaseModel):
    """What every console page needs once per session."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_CONSOLE]})

    me: Me = Field(description="The caller, as `GET /api/v1/auth/me` returns them.")
    teams: list[TeamRead] = Field(
        description="Every team with its members, by name (as `GET /api/v1/teams`); empty for "
        "customers and for credentials without `tickets:read`."
    )
    staff: list[StaffMember] = Field(
        description=f"Active agents and admins by name, at most {MAX_STAFF}; empty for "
        "customers and for credentials without `users:read`."
    )
    staff_complete: bool = Field(
        description=f"False when there are more than {MAX_STAFF} active staff (`staff` is cut; "
        "page through `GET /api/v1/users?staff=true` for the rest)."
    )
    views: list[ViewRead] = Field(
        description="The caller's saved views in their order (as `GET /api/v1/views`); empty "
        "for customers and for credentials without `tickets:read`."
    )

    @field_serializer("views")
    def _views_without_nulls(self, views: list[ViewRead]):  # type: ignore[no-untyped-def]
        # As `GET /api/v1/views` sends them: a view's `query` holds only the filters it sets.
        return [v.model_dump(mode="json", exclude_none=True) for v in views]
