"""Admin-issued password reset tokens, kept in Redis with their lifetime.

A token is shown once (to the admin, who hands it to the user); Redis holds only its SHA-256.
Each user has at most one valid token: issuing another replaces it. Redeeming deletes it
atomically (``GETDEL``), so a token works once.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any

from redis.exceptions import RedisError

from helpline.errors import DependencyUnavailable


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class PasswordResetStore:
    def __init__(self, redis: Any, prefix: str, ttl_seconds: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl_seconds

    def _token_key(self, digest: str) -> str:
        return f"{self.prefix}:password-reset:{digest}"

    def _user_key(self, user_id: uuid.UUID) -> str:
        return f"{self.prefix}:password-reset-user:{user_id}"

    async def issue(self, user_id: uuid.UUID) -> str:
        """A new token for the user (any earlier one stops working)."""
        token = "hlr_" + secrets.token_urlsafe(32)
        digest = _digest(token)
        try:
            previous = await self.redis.get(self._user_key(user_id))
            async with self.redis.pipeline(transaction=True) as pipe:
                if previous:
                    old = previous.decode() if isinstance(previous, bytes) else previous
                    pipe.delete(self._token_key(old))
                pipe.set(self._token_key(digest), str(user_id), ex=self.ttl)
                pipe.set(self._user_key(user_id), digest, ex=self.ttl)
                await pipe.execute()
        except RedisError as exc:
            raise DependencyUnavailable("The token store is unavailable.") from exc
        return token

    async def peek(self, token: str) -> uuid.UUID | None:
        """The user a valid token was issued for, without consuming it."""
        if not token.startswith("hlr_") or len(token) > 100:
            return None
        try:
            raw = await self.redis.get(self._token_key(_digest(token)))
        except RedisError as exc:
            raise DependencyUnavailable("The token store is unavailable.") from exc
        return None if raw is None else uuid.UUID(raw.decode() if isinstance(raw, bytes) else raw)

    async def redeem(self, token: str) -> uuid.UUID | None:
        """The user the token was issued for, consuming it; None when unknown, used or expired."""
        if not token.startswith("hlr_") or len(token) > 100:
            return None
        digest = _digest(token)
        try:
            raw = await self.redis.getdel(self._token_key(digest))
            if raw is None:
                return None
            user_id = uuid.UUID(raw.decode() if isinstance(raw, bytes) else raw)
            await self.redis.delete(self._user_key(user_id))
        except RedisError as exc:
            raise DependencyUnavailable("The token store is unavailable.") from exc
        return user_id
