"""Authentication: resolve credentials to a Principal; issue API keys."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth import keys, repository
from helpline.auth.permissions import ROLE_SCOPES, Scope, effective_scopes
from helpline.auth.principal import Principal
from helpline.errors import ApiKeyExpired, Unauthenticated, ValidationFailed
from helpline.kit.clock import Clock, utcnow
from helpline.kit.ids import new_id
from helpline.models import ApiKey
from helpline.models.enums import Role


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly created key: the row and the secret, which exists only here."""

    row: ApiKey
    secret: str


async def authenticate_api_key(
    session: AsyncSession,
    presented: str,
    *,
    pepper: bytes,
    request_id: str,
    ip: str,
    clock: Clock = utcnow,
) -> Principal:
    """Resolve a presented key to a Principal, or raise 401. Malformed keys never reach the DB."""
    if not keys.is_well_formed(presented):
        raise Unauthenticated("The API key is malformed.")
    key_hash = keys.hash_key(pepper, presented)
    row = await repository.lookup_key_and_set_actor(session, key_hash, request_id, ip)
    if row is None or not hmac.compare_digest(row.key_hash, key_hash):
        raise Unauthenticated("The API key is not recognised.")
    if row.revoked_at is not None:
        raise Unauthenticated("The API key has been revoked.")
    if row.expires_at is not None and row.expires_at <= clock():
        raise ApiKeyExpired("The API key has expired.")
    if not row.is_active:
        raise Unauthenticated("The API key's owner is deactivated.")
    role = Role(row.role)
    return Principal(
        user_id=row.user_id,
        role=role,
        scopes=effective_scopes(role, frozenset(row.scopes)),
        api_key_id=row.id,
        rate_limit_per_minute=row.rate_limit_per_minute,
    )


async def list_api_keys(session: AsyncSession, user_id: uuid.UUID) -> list[ApiKey]:
    """A user's keys, oldest first."""
    return await repository.list_keys(session, user_id)


async def issue_api_key(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    role: Role,
    name: str,
    pepper: bytes,
    scopes: list[str] | None = None,
    rate_limit_per_minute: int | None = None,
    expires_at: datetime | None = None,
) -> IssuedKey:
    """Create a key for a user; scopes default to everything the role allows."""
    allowed = {s.value for s in ROLE_SCOPES[role]}
    requested = sorted(allowed if scopes is None else set(scopes))
    unknown = [s for s in requested if s not in {sc.value for sc in Scope}]
    beyond = [s for s in requested if s not in allowed and s not in unknown]
    if unknown or beyond:
        raise ValidationFailed(
            "Scopes are unknown or beyond the owner's role.",
            errors=[
                {"loc": ["body", "scopes"], "msg": f"scope {s!r} is not allowed", "type": "scope"}
                for s in unknown + beyond
            ],
        )
    secret = keys.generate_key()
    row = await repository.insert_key(
        session,
        key_id=new_id(),
        user_id=user_id,
        name=name,
        prefix=keys.display_prefix(secret),
        key_hash=keys.hash_key(pepper, secret),
        scopes=requested,
        rate_limit_per_minute=rate_limit_per_minute,
        expires_at=expires_at,
    )
    return IssuedKey(row=row, secret=secret)
