"""kit/periodic.Periodic: the one background loop (start, wake, flush, stop), driven by wake()
instead of waiting for its interval."""

from __future__ import annotations

import asyncio

import pytest

from helpline.kit.periodic import Periodic

pytestmark = pytest.mark.unit

NEVER = 3600.0  # the interval never elapses in a test: wake() drives the loop


class Steps:
    def __init__(self, *, fail_first: bool = False) -> None:
        self.runs = 0
        self.fail_first = fail_first
        self.ran = asyncio.Event()

    async def __call__(self) -> int:
        self.runs += 1
        self.ran.set()
        if self.fail_first and self.runs == 1:
            raise RuntimeError("database down")
        return self.runs


async def ran(steps: Steps) -> None:
    await asyncio.wait_for(steps.ran.wait(), timeout=5)
    steps.ran.clear()


class TestPeriodic:
    async def test_wake_runs_the_step_in_the_background_and_stop_flushes_once_more(self):
        steps = Steps()
        task = Periodic("test", steps, interval_s=NEVER)
        task.start()
        assert task.running
        task.wake()
        await ran(steps)
        assert steps.runs == 1
        await task.stop()
        assert not task.running
        assert steps.runs == 2  # the final step: nothing buffered is lost at shutdown

    async def test_a_failing_step_does_not_end_the_loop(self):
        steps = Steps(fail_first=True)
        task = Periodic("test", steps, interval_s=NEVER, final_step=False)
        task.start()
        task.wake()
        await ran(steps)
        task.wake()
        await ran(steps)
        assert steps.runs == 2
        await task.stop()
        assert steps.runs == 2  # final_step=False: stop only stops

    async def test_flush_runs_the_step_now_without_a_loop(self):
        steps = Steps()
        task = Periodic("test", steps, interval_s=NEVER)
        assert await task.flush() == 1
        assert not task.running
        await task.stop()  # never started: only the final step
        assert steps.runs == 2
