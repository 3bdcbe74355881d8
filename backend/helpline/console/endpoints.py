"""REST endpoint of the console bootstrap: a thin handler over the service."""

from __future__ import annotations

from fastapi import APIRouter

from helpline.auth.dependencies import Authenticated
from helpline.console import service
from helpline.console.schemas import ConsoleRead
from helpline.db import SessionDep, UnitOfWorkRoute
from helpline.http import problem_responses

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1", tags=["console"])


@router.get(
    "/console",
    summary="Console bootstrap",
    description="What every page of the web console needs once per session, in one request: "
    "the caller (`me`, as `GET /api/v1/auth/me`), every team, the directory of active agents "
    "and admins (names for assignees, teams and presence; the assignee choices) and the "
    "caller's saved views. Agents and admins get every section their credentials allow "
    "(`tickets:read`: teams and views; `users:read`: the directory); a customer gets only "
    "`me`, with the other lists empty — the customer portal needs nothing else and may see "
    "nothing else. Who is on which ticket is not here: it is the first message of "
    "`GET /api/v1/events/stream?presence=true` (`event: presence-snapshot`).",
    operation_id="getConsole",
    responses=problem_responses(),
)
async def get_console(session: SessionDep, principal: Authenticated) -> ConsoleRead:
    return await service.bootstrap(session, principal)
