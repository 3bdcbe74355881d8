"""Presence in Redis: one sorted set of ``<ticket>:<user>`` by expiry (ms, from the service's
clock, so tests move time instead of sleeping) and one hash of their states, under one hash tag
(a Redis Cluster keeps them in one slot). Expired members are pruned by every script call."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from helpline.kit import roundtrip

# KEYS: expiry zset, state hash. ARGV: now ms, member, state, expires ms. Returns the old state.
SET = roundtrip.Script("""
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #gone > 0 then
  redis.call('HDEL', KEYS[2], unpack(gone))
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
end
local old = redis.call('HGET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return old
""")

# KEYS: expiry zset, state hash. ARGV: member. Returns 1 when it was there.
CLEAR = roundtrip.Script("""
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('HDEL', KEYS[2], ARGV[1])
""")

# KEYS: expiry zset, state hash. ARGV: now ms. Returns {member, expires ms, state, ...}.
LIST = roundtrip.Script("""
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #gone > 0 then
  redis.call('HDEL', KEYS[2], unpack(gone))
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
end
local live = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES')
local out = {}
for i = 1, #live, 2 do
  out[#out + 1] = live[i]
  out[#out + 1] = live[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], live[i]) or 'viewing'
end
return out
""")


@dataclass(frozen=True, slots=True)
class Entry:
    ticket_id: uuid.UUID
    user_id: uuid.UUID
    state: str
    expires_ms: int


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class PresenceStore:
    """Presence of one deployment (its Redis key prefix)."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        tag = f"{{{prefix}:presence}}"
        self.keys = [f"{tag}:expiry", f"{tag}:state"]

    async def _run(self, script: roundtrip.Script, args: list[Any]) -> Any:
        (result,) = await roundtrip.execute(self.redis, [script.call(self.keys, args)])
        return result

    async def set(
        self, ticket_id: uuid.UUID, user_id: uuid.UUID, state: str, now_ms: int, ttl_ms: int
    ) -> str | None:
        """Record (or renew) a presence; the state it had before (None: it was not there)."""
        member = f"{ticket_id}:{user_id}"
        old = await self._run(SET, [now_ms, member, state, now_ms + ttl_ms])
        return None if old is None else _s(old)

    async def clear(self, ticket_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        return bool(await self._run(CLEAR, [f"{ticket_id}:{user_id}"]))

    async def live(self, now_ms: int) -> list[Entry]:
        raw = await self._run(LIST, [now_ms])
        out = []
        for i in range(0, len(raw), 3):
            ticket, _, user = _s(raw[i]).partition(":")
            out.append(
                Entry(uuid.UUID(ticket), uuid.UUID(user), _s(raw[i + 2]), int(float(raw[i + 1])))
            )
        return out
