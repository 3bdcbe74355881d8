"""What tasks need from the worker process (set once by `run_worker`, or by tests)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from helpline.config import Settings
from helpline.db import Database, UnitOfWork
from helpline.kit.clock import Clock
from helpline.webhook.delivery import Deliverer


@dataclass
class WorkerContext:
    settings: Settings
    database: Database
    owner_database: Database
    clock: Clock
    deliverer: Deliverer

    def unit_of_work(self, *, owner: bool = False) -> AbstractAsyncContextManager[UnitOfWork]:
        """One job's unit of work: one transaction (on the owner role's database for the audit
        jobs), then the side effects it queued."""
        return (self.owner_database if owner else self.database).unit_of_work()


_current: list[WorkerContext] = []


def use(context: WorkerContext | None) -> None:
    _current[:] = [context] if context else []


def current() -> WorkerContext:
    if not _current:
        raise RuntimeError("no worker context: start the worker with helpline.jobs.worker")
    return _current[0]
