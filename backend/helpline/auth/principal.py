"""The authenticated caller, as every service sees it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from helpline.auth.permissions import Scope
from helpline.models.enums import Role


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID
    role: Role
    scopes: frozenset[Scope]
    api_key_id: uuid.UUID | None = None
    rate_limit_per_minute: int | None = None
    session_id: str | None = field(default=None, repr=False)

    @property
    def is_customer(self) -> bool:
        return self.role is Role.customer

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    @property
    def is_staff(self) -> bool:
        """Agents and admins see every ticket."""
        return self.role in (Role.agent, Role.admin)

    def has(self, scope: Scope) -> bool:
        return scope in self.scopes

    @property
    def actor_type(self) -> str:
        return "api_key" if self.api_key_id else "user"

    def ident(self) -> str:
        """Stable string for logs, idempotency and cache keys (never a secret)."""
        return f"key:{self.api_key_id}" if self.api_key_id else f"user:{self.user_id}"


# The command line acts with full rights (it already holds the database credentials).
SYSTEM_PRINCIPAL = Principal(user_id=uuid.UUID(int=0), role=Role.admin, scopes=frozenset(Scope))
