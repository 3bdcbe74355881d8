"""One in-process periodic task: start, stop, flush — for every background loop of a process.

A step (flush a buffer, deliver an outbox, poll replicas) runs every ``interval_s``, or sooner
when :meth:`Periodic.wake` is called (a buffer filled up). A failing step is logged and retried
at the next interval: the loop outlives any single failure. :meth:`Periodic.stop` cancels the loop
and, unless told otherwise, runs the step once more so nothing buffered is lost at shutdown.
:meth:`Periodic.flush` runs the step now (tests, and the shutdown path).

Whether a process runs its loops at all is the application's choice, made once
(``create_app(background=...)``); the step is the same either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


class Periodic:
    """Runs ``step`` every ``interval_s`` in a background task once started."""

    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[Any]],
        *,
        interval_s: float,
        final_step: bool = True,
    ) -> None:
        self.name = name
        self.step = step
        self.interval_s = interval_s
        self.final_step = final_step
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        """Run the step in the background from now on (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"helpline-{self.name}")

    def wake(self) -> None:
        """Run the step soon, without waiting for the interval (e.g. a buffer is full)."""
        self._wakeup.set()

    async def flush(self) -> Any:
        """Run the step now; its result."""
        return await self.step()

    async def stop(self) -> None:
        """Stop the loop; then run the step once more (``final_step``)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.final_step:
            await self.flush()

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self.interval_s)
            self._wakeup.clear()
            try:
                await self.step()
            except Exception:  # the loop must outlive any single failure
                log.warning(
                    "periodic task %s failed; retrying next interval", self.name, exc_info=True
                )
