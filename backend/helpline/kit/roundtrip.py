"""One Redis round trip per request: calls that ride along with the request's next trip.

A request's own Redis work (e.g. its rate-limit check) may be *deferred* instead of sent at once:
it waits on the request's unit of work (``UnitOfWork.defer``), and the next Redis operation of the
same request (e.g. the ticket cache lookup) takes it and sends it in the same pipeline, so a
cache-hit read costs one round trip in all. Whatever is still deferred when the handler is done is
flushed on its own by the unit of work's boundary.

Calls are plain command tuples; Lua scripts go by SHA (``EVALSHA``) and are loaded only when Redis
answers ``NOSCRIPT`` (first use, or after a restart), re-running just the calls that failed.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import NoScriptError, ResponseError

from helpline.kit.redis_client import is_cluster


@dataclass(frozen=True, slots=True)
class Script:
    """A Lua script sent by SHA."""

    source: str | bytes
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        raw = self.source.encode() if isinstance(self.source, str) else self.source
        object.__setattr__(self, "sha", hashlib.sha1(raw).hexdigest())  # noqa: S324  # nosec B324: Redis names scripts by SHA-1

    def call(self, keys: Sequence[Any], args: Sequence[Any]) -> Call:
        return Call(("EVALSHA", self.sha, len(keys), *keys, *args), self)


@dataclass(frozen=True, slots=True)
class Call:
    args: tuple[Any, ...]
    script: Script | None = None


def command(*args: Any) -> Call:
    return Call(tuple(args))


async def execute(redis: Any, calls: Sequence[Call]) -> list[Any]:
    """Send ``calls`` in one pipeline (no MULTI); raise the first error any call returned.

    On a Redis Cluster the calls may live in different slots (a rate-limit window, a cache
    entry): they are sent one by one there, each to its own node.
    """
    if is_cluster(redis):
        return [await _one(redis, call) for call in calls]
    results = await _send(redis, calls)
    missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
    if missing:  # NOSCRIPT: the call did not run; load its script and run just those again
        scripts = {calls[i].script for i in missing}
        for script in scripts:
            if script is not None:
                await redis.script_load(script.source)
        again = await _send(redis, [calls[i] for i in missing])
        for i, value in zip(missing, again, strict=True):
            results[i] = value
    for value in results:
        if isinstance(value, ResponseError):
            raise value
    return results


async def _one(redis: Any, call: Call) -> Any:
    try:
        return await redis.execute_command(*call.args)
    except NoScriptError:
        if call.script is None:
            raise
        await redis.script_load(call.script.source)
        return await redis.execute_command(*call.args)


async def _send(redis: Any, calls: Sequence[Call]) -> list[Any]:
    async with redis.pipeline(transaction=False) as pipe:
        for call in calls:
            pipe.execute_command(*call.args)
        return list(await pipe.execute(raise_on_error=False))


@dataclass(slots=True)
class Deferred:
    """Calls waiting for the request's next round trip, and what to do with their answers.

    ``resolve`` gets the answers (it may raise, e.g. a 429); ``fallback`` runs instead when the
    round trip failed (it may raise too). Both run exactly once.
    """

    calls: list[Call]
    resolve: Callable[[list[Any]], Awaitable[None]]
    fallback: Callable[[BaseException], Awaitable[None]]
    redis: Any
    timeout_s: float
    socket_bounded: bool = False  # the client's socket timeouts already bound each read

    async def flush(self) -> None:
        """Send the calls on their own (nothing else rode along)."""
        try:
            if self.socket_bounded:
                results = await execute(self.redis, self.calls)
            else:
                async with asyncio.timeout(self.timeout_s):
                    results = await execute(self.redis, self.calls)
        except Exception as exc:  # any Redis trouble: the owner decides (never a 5xx)
            await self.fallback(exc)
            return
        await self.resolve(results)
