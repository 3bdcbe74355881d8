"""The one place that turns presented credentials into a principal.

Used by the route dependencies (:mod:`helpline.auth.dependencies`) and by the middleware, which
charges a refused or unrouted request to the key that sent it when that key is already known.
Parsing, the malformed-key check, the peppered hash and the principal cache are here only.
"""

from __future__ import annotations

from helpline.auth import keys, service
from helpline.auth.principal import Principal
from helpline.auth.principal_cache import PrincipalCache
from helpline.db import UnitOfWork
from helpline.errors import Unauthenticated
from helpline.kit.clock import Clock


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
        resolved = await service.resolve_api_key(uow.session, credential, clock=self.clock)
        await uow.release()  # no connection held across the Redis work that follows
        self.principals.put(
            credential, resolved.principal, expires_at=resolved.expires_at, generation=generation
        )
        return resolved.principal
