"""The request's unit of work as FastAPI dependencies, and the route class that commits it.

The middleware makes one :class:`~helpline.db.work.UnitOfWork` per request (it knows the
request id and the client address first); :class:`UnitOfWorkRoute` runs its boundary around the
handler: commit once after the handler returns and before the response is sent (a failed commit
is never a 2xx), roll back on any exception, then the side effects.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Scope

from helpline.db.work import UnitOfWork

SCOPE_KEY = "helpline.work"  # where the middleware leaves the request's unit of work


def request_work(scope: Scope) -> UnitOfWork | None:
    """The unit of work the middleware made for this request (None outside the middleware)."""
    work: UnitOfWork | None = scope.get("state", {}).get(SCOPE_KEY)
    return work


def attach_work(scope: Scope, work: UnitOfWork) -> None:
    scope.setdefault("state", {})[SCOPE_KEY] = work


async def get_uow(request: Request) -> UnitOfWork:
    """The request's unit of work. Its boundary is run by :class:`UnitOfWorkRoute` around the
    handler, not by this dependency: a plain dependency costs FastAPI far less per request than
    one with an exit (no exit stack, no shielded cancel scope)."""
    work = request_work(request.scope)
    if work is None or not work.bounded:  # nobody would commit it or give its connection back
        raise RuntimeError(f"{request.url.path}: its router must use route_class=UnitOfWorkRoute")
    return work


async def get_session(work: Annotated[UnitOfWork, Depends(get_uow)]) -> AsyncSession:
    """The session of the request's unit of work, for handlers that only run SQL."""
    return work.session


UowDep = Annotated[UnitOfWork, Depends(get_uow)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _uses_work(dependant: Dependant) -> bool:
    return dependant.call in (get_uow, get_session) or any(
        _uses_work(d) for d in dependant.dependencies
    )


class UnitOfWorkRoute(APIRoute):
    """A route whose request's unit of work commits exactly once after the handler returns and
    before the response is sent, rolls back on any exception, then runs its side effects.

    Redis work the request deferred (its rate-limit hit) that nothing sent along yet is sent
    before the commit, so a refused request still changes nothing. The built response is on the
    unit of work for its before-commit steps (idempotency stores it in the same transaction).
    Routes that take no unit of work run as they are.
    """

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        if not _uses_work(self.dependant):
            return handler

        async def unit_of_work(request: Request) -> Response:
            work = request_work(request.scope)
            if work is None:
                raise RuntimeError("no unit of work: HelplineMiddleware makes one per request")
            async with work.boundary():
                response = await handler(request)
                work.response = response
            return response

        return unit_of_work
