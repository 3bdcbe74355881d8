"""Presence of staff on tickets: recorded with an expiry, announced on the event streams."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError

from helpline.auth.principal import Principal
from helpline.errors import DependencyUnavailable, PermissionDenied
from helpline.kit.cache import presence_channel
from helpline.presence.schemas import PresenceList, PresenceRead, PresenceState
from helpline.presence.store import Entry, PresenceStore

UNAVAILABLE = "Presence is unavailable (Redis cannot be reached)."


def require_staff(principal: Principal) -> None:
    if not principal.is_staff:
        raise PermissionDenied("Presence is for agents and admins.")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _read(entry: Entry) -> PresenceRead:
    return PresenceRead(
        ticket_id=entry.ticket_id,
        user_id=entry.user_id,
        state=PresenceState(entry.state),
        expires_at=datetime.fromtimestamp(entry.expires_ms / 1000, UTC),
    )


class PresenceService:
    """Presence on one Redis (the app's), timed by the app's clock."""

    def __init__(self, redis: Any, prefix: str, *, ttl_s: int, clock: Any) -> None:
        self.store = PresenceStore(redis, prefix)
        self.redis = redis
        self.channel = presence_channel(prefix)
        self.ttl_s = ttl_s
        self.clock = clock

    async def _announce(
        self, read: PresenceRead | None, ticket_id: uuid.UUID, user_id: uuid.UUID
    ) -> None:
        payload = (
            read.model_dump_json()
            if read is not None
            else json.dumps({"ticket_id": str(ticket_id), "user_id": str(user_id), "state": None})
        )
        await self.redis.publish(self.channel, payload)

    async def set(
        self, principal: Principal, ticket_id: uuid.UUID, state: PresenceState
    ) -> PresenceList:
        """Record (or renew) the caller's presence; announce it when it is new or changed.
        Everyone on the ticket, the caller included."""
        require_staff(principal)
        now = _ms(self.clock())
        try:
            old = await self.store.set(
                ticket_id, principal.user_id, state.value, now, self.ttl_s * 1000
            )
            if old != state.value:
                entry = Entry(ticket_id, principal.user_id, state.value, now + self.ttl_s * 1000)
                await self._announce(_read(entry), ticket_id, principal.user_id)
            live = await self.store.live(now)
        except (RedisError, OSError) as exc:
            raise DependencyUnavailable(
                "Presence is unavailable (Redis cannot be reached)."
            ) from exc
        return PresenceList(
            data=[_read(e) for e in live if e.ticket_id == ticket_id], ttl_s=self.ttl_s
        )

    async def clear(self, principal: Principal, ticket_id: uuid.UUID) -> None:
        """The caller left the ticket."""
        require_staff(principal)
        try:
            if await self.store.clear(ticket_id, principal.user_id):
                await self._announce(None, ticket_id, principal.user_id)
        except (RedisError, OSError) as exc:
            raise DependencyUnavailable(
                "Presence is unavailable (Redis cannot be reached)."
            ) from exc

    async def list(self, principal: Principal, ticket_id: uuid.UUID | None) -> PresenceList:
        """Everyone present now (on ``ticket_id`` only, when given)."""
        require_staff(principal)
        try:
            live = await self.store.live(_ms(self.clock()))
        except (RedisError, OSError) as exc:
            raise DependencyUnavailable(
                "Presence is unavailable (Redis cannot be reached)."
            ) from exc
        return PresenceList(
            data=[_read(e) for e in live if ticket_id is None or e.ticket_id == ticket_id],
            ttl_s=self.ttl_s,
        )
