"""The one place that turns presented credentials into a principal.

Used by the route dependencies (:mod:`helpline.auth.dependencies`) and by the middleware, which
charges a refused or unrouted request to the key that sent it when that key is already known.
Parsing, the malformed-key check, the peppered hash and the principal cache are here only.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth import keys, repository
from helpline.auth.permissions import ROLE_SCOPES, effective_scopes
from helpline.auth.principal import Principal
from helpline.auth.principal_cache import PrincipalCache
from helpline.auth.sessions import SessionStore, password_mark
from helpline.db import UnitOfWork
from helpline.errors import ApiKeyExpired, CsrfTokenInvalid, SessionExpired, Unauthenticated
from helpline.kit.clock import Clock, utcnow
from helpline.models.enums import Role

# RFC 9110 §9.2.1: every other method may change state and needs the session's CSRF token.
# (Not the request middleware's set of methods whose bodies must be JSON.)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def api_key_of(authorization: str | None, x_api_key: str | None) -> str | None:
    """The API key from ``Authorization: Bearer`` or ``X-API-Key``; 401 for another scheme."""
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise Unauthenticated("Use 'Authorization: Bearer <api key>'.")
        return credentials.strip()
    return x_api_key


class CredentialResolver:
    """API keys to principals: the hash, this process's principal cache, PostgreSQL."""

    def __init__(self, *, pepper: bytes, principals: PrincipalCache, clock: Clock) -> None:
        self.pepper = pepper
        self.principals = principals
        self.clock = clock

    def credential(self, key: str) -> bytes:
        """The key's lookup hash; 401 for a malformed key (before any database or Redis call)."""
        if not keys.is_well_formed(key):
            raise Unauthenticated("The API key is malformed.")
        return keys.hash_key(self.pepper, key)

    def cached(self, credential: bytes) -> Principal | None:
        """The principal this process may still trust for ``credential``, if any."""
        return self.principals.get(credential, self.clock())

    def known(self, header: bytes) -> Principal | None:
        """The cached principal of a raw ``Authorization``/``X-API-Key`` value, never raising
        (the middleware's late rate-limit hit: a bad or unknown key is charged to the IP)."""
        presented = header.decode("latin-1")
        scheme, _, rest = presented.partition(" ")
        if scheme.lower() == "bearer":
            presented = rest
        presented = presented.strip()
        if not keys.is_well_formed(presented):
            return None
        return self.cached(keys.hash_key(self.pepper, presented))

    async def resolve(self, uow: UnitOfWork, credential: bytes) -> Principal:
        """Resolve from PostgreSQL (401 if unknown, revoked, expired) and cache the answer."""
        generation = self.principals.generation  # read first: a change during it discards it
        resolved = await resolve_api_key(uow.session, credential, clock=self.clock)
        await uow.release()  # no connection held across the Redis work that follows
        self.principals.put(
            credential, resolved.principal, expires_at=resolved.expires_at, generation=generation
        )
        return resolved.principal


@dataclass(frozen=True, slots=True)
class ResolvedKey:
    """A key resolved to its principal, and until when that holds without another look."""

    principal: Principal
    expires_at: datetime | None


async def resolve_api_key(
    session: AsyncSession, key_hash: bytes, *, clock: Clock = utcnow
) -> ResolvedKey:
    """Resolve a key (by its peppered hash) to a Principal, or raise 401."""
    row = await repository.lookup_key(session, key_hash)
    if row is None or not hmac.compare_digest(row.key_hash, key_hash):
        raise Unauthenticated("The API key is not recognised.")
    if row.revoked_at is not None:
        raise Unauthenticated("The API key has been revoked.")
    if row.expires_at is not None and row.expires_at <= clock():
        raise ApiKeyExpired("The API key has expired.")
    if not row.is_active:
        raise Unauthenticated("The API key's owner is deactivated.")
    role = Role(row.role)
    principal = Principal(
        user_id=row.user_id,
        role=role,
        scopes=effective_scopes(role, frozenset(row.scopes)),
        api_key_id=row.id,
        rate_limit_per_minute=row.rate_limit_per_minute,
    )
    return ResolvedKey(principal, row.expires_at)


async def authenticate_session(
    session: AsyncSession,
    store: SessionStore,
    token: str,
    *,
    method: str,
    csrf_header: str | None,
    mark_secret: bytes,
    request_id: str,
    ip: str,
) -> Principal:
    """Resolve a session cookie to a Principal with the user's *current* role, or raise 401."""
    data = await store.load(token)
    if data is None:
        raise SessionExpired("The session has ended; log in again.")
    row = await repository.lookup_user_and_set_actor(session, data.user_id, request_id, ip)
    if (
        row is None
        or not row.is_active
        or not hmac.compare_digest(
            password_mark(mark_secret, row.password_hash), data.password_mark
        )
    ):
        await store.delete(data.session_id, data.user_id)
        raise SessionExpired("The session has ended; log in again.")
    if method not in SAFE_METHODS and not (
        csrf_header and hmac.compare_digest(csrf_header.encode(), data.csrf_token.encode())
    ):
        raise CsrfTokenInvalid("Send the session's CSRF token in X-CSRF-Token.")
    role = Role(row.role)
    return Principal(
        user_id=row.id, role=role, scopes=ROLE_SCOPES[role], session_id=data.session_id
    )


async def revoke_keys_of_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Revoke every live key of a user (deactivation); a reactivation does not revive them."""
    await repository.revoke_user_keys(session, user_id, utcnow())
