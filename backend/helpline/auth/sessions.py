"""Login sessions kept server-side in Redis, with sliding expiry.

The cookie carries a random token; Redis stores only its SHA-256, so neither a Redis dump nor
a log of keys reveals a usable session. Each user's sessions are indexed so that deactivation or
a password change can end all of them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from helpline.errors import DependencyUnavailable


@dataclass(frozen=True, slots=True)
class SessionData:
    session_id: str
    user_id: uuid.UUID
    csrf_token: str
    password_mark: str


def password_mark(secret: bytes, password_hash: str | None) -> str:
    """A fingerprint of the user's password hash: a new password ends older sessions."""
    return hmac.new(secret, (password_hash or "").encode(), hashlib.sha256).hexdigest()[:32]


def session_id_for(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(self, redis: Any, prefix: str, ttl_seconds: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl_seconds

    # One hash tag for every session key: a session and its user's index are written in one
    # MULTI, which a Redis Cluster allows only within one slot.
    def _key(self, session_id: str) -> str:
        return f"{{{self.prefix}:sessions}}:session:{session_id}"

    def _index(self, user_id: uuid.UUID) -> str:
        return f"{{{self.prefix}:sessions}}:user:{user_id}"

    async def ensure_available(self) -> None:
        """503 unless the store answers: checked before a password, so an outage confirms none."""
        try:
            await self.redis.ping()
        except RedisError as exc:
            raise DependencyUnavailable("The session store is unavailable.") from exc

    def prepare(self, user_id: uuid.UUID, mark: str) -> tuple[str, SessionData]:
        """A new session's cookie token (shown once) and data; nothing is stored yet."""
        token = secrets.token_urlsafe(32)
        data = SessionData(
            session_id=session_id_for(token),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            password_mark=mark,
        )
        return token, data

    async def save(self, data: SessionData) -> None:
        """Store a prepared session (after the login's transaction committed)."""
        value = json.dumps({"u": str(data.user_id), "c": data.csrf_token, "p": data.password_mark})
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(self._key(data.session_id), value, ex=self.ttl)
                pipe.sadd(self._index(data.user_id), data.session_id)
                pipe.expire(self._index(data.user_id), self.ttl)
                await pipe.execute()
        except RedisError as exc:
            raise DependencyUnavailable("The session store is unavailable.") from exc

    async def create(self, user_id: uuid.UUID, mark: str) -> tuple[str, SessionData]:
        """A new session, stored at once; returns the cookie token (shown once) and the data."""
        token, data = self.prepare(user_id, mark)
        await self.save(data)
        return token, data

    async def load(self, token: str) -> SessionData | None:
        """The session for a cookie token, refreshing its expiry; None when it has ended."""
        if not 20 <= len(token) <= 100:
            return None
        session_id = session_id_for(token)
        try:
            raw = await self.redis.getex(self._key(session_id), ex=self.ttl)
        except RedisError as exc:
            raise DependencyUnavailable("The session store is unavailable.") from exc
        if raw is None:
            return None
        value = json.loads(raw)
        return SessionData(
            session_id=session_id,
            user_id=uuid.UUID(value["u"]),
            csrf_token=value["c"],
            password_mark=value["p"],
        )

    async def delete(self, session_id: str, user_id: uuid.UUID) -> None:
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(self._key(session_id))
                pipe.srem(self._index(user_id), session_id)
                await pipe.execute()
        except RedisError as exc:
            raise DependencyUnavailable("The session store is unavailable.") from exc

    async def end_other_sessions(self, user_id: uuid.UUID, keep: str | None, mark: str) -> None:
        """End every session of a user but ``keep`` (the caller's), whose mark is renewed."""
        index = self._index(user_id)
        members = [
            m.decode() if isinstance(m, bytes) else m for m in await self.redis.smembers(index)
        ]
        others = [m for m in members if m != keep]
        if keep is not None:
            raw = await self.redis.get(self._key(keep))
            if raw is not None:
                value = json.loads(raw)
                value["p"] = mark
                await self.redis.set(self._key(keep), json.dumps(value), keepttl=True)
        if others:
            await self.redis.delete(*[self._key(m) for m in others])
            await self.redis.srem(index, *others)

    async def delete_all(self, user_id: uuid.UUID) -> None:
        """End every session of a user (deactivation, password change)."""
        index = self._index(user_id)
        members = await self.redis.smembers(index)
        keys = [self._key(m.decode() if isinstance(m, bytes) else m) for m in members]
        await self.redis.delete(index, *keys)
