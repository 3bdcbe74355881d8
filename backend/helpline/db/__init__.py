"""Database access: one engine per process, one unit of work per request, job or command.

Handlers and services only ``flush()``; the unit of work commits exactly once after the handler
returns (or rolls back on any exception) and then runs the side effects it queued
(:mod:`helpline.db.work`, ADR 0011).
"""

from helpline.db.engine import Database, async_url, make_engine
from helpline.db.route import SessionDep, UnitOfWorkRoute, UowDep, get_session, get_uow
from helpline.db.work import (
    ActorContext,
    RequestIdentity,
    UnitOfWork,
    WorkSession,
    set_actor_context,
)

__all__ = [
    "ActorContext",
    "Database",
    "RequestIdentity",
    "SessionDep",
    "UnitOfWork",
    "UnitOfWorkRoute",
    "UowDep",
    "WorkSession",
    "async_url",
    "get_session",
    "get_uow",
    "make_engine",
    "set_actor_context",
]
