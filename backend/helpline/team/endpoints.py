"""REST endpoints for teams: staff read, admins change. Thin handlers over the service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response

from helpline.auth.dependencies import require
from helpline.auth.permissions import Scope
from helpline.auth.principal import Principal
from helpline.db import SessionDep, UnitOfWorkRoute
from helpline.errors import Conflict, NameTaken, PermissionDenied, TeamNotFound
from helpline.http import IDEMPOTENT, JSON_BODY, UNSAFE, problem_responses
from helpline.kit.clock import utcnow
from helpline.team import service
from helpline.team.schemas import TeamCreate, TeamRead, TeamUpdate

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/teams", tags=["teams"])

Reader = Annotated[Principal, require(Scope.tickets_read)]
Writer = Annotated[Principal, require(Scope.tickets_write)]
TeamId = Annotated[uuid.UUID, Path(description="Team id.")]


@router.post(
    "",
    status_code=201,
    summary="Create a team",
    description="Admins only. Members must be active agents or admins.",
    operation_id="createTeam",
    responses=problem_responses(PermissionDenied, *UNSAFE, *JSON_BODY, *IDEMPOTENT, NameTaken),
)
async def create_team(session: SessionDep, principal: Writer, body: TeamCreate) -> TeamRead:
    return TeamRead.model_validate(await service.create_team(session, principal, body))


@router.get(
    "",
    summary="List teams",
    description="Every team with its members (agents and admins only).",
    operation_id="listTeams",
    responses=problem_responses(PermissionDenied),
)
async def list_teams(session: SessionDep, principal: Reader) -> list[TeamRead]:
    return [TeamRead.model_validate(r) for r in await service.list_teams(session, principal)]


@router.get(
    "/{team_id}",
    summary="Get a team",
    description="One team with its members.",
    operation_id="getTeam",
    responses=problem_responses(PermissionDenied, TeamNotFound),
)
async def get_team(session: SessionDep, principal: Reader, team_id: TeamId) -> TeamRead:
    return TeamRead.model_validate(await service.get_team(session, principal, team_id))


@router.patch(
    "/{team_id}",
    summary="Update a team",
    description="Admins only. `member_ids` replaces the member list.",
    operation_id="updateTeam",
    responses=problem_responses(PermissionDenied, *UNSAFE, *JSON_BODY, TeamNotFound, NameTaken),
)
async def update_team(
    session: SessionDep, principal: Writer, team_id: TeamId, body: TeamUpdate
) -> TeamRead:
    row = await service.update_team(session, principal, team_id, body, utcnow())
    return TeamRead.model_validate(row)


@router.delete(
    "/{team_id}",
    status_code=204,
    summary="Delete a team",
    description="Admins only. A team that tickets still belong to → 409 (move them first).",
    operation_id="deleteTeam",
    responses=problem_responses(PermissionDenied, *UNSAFE, TeamNotFound, Conflict),
)
async def delete_team(session: SessionDep, principal: Writer, team_id: TeamId) -> Response:
    await service.delete_team(session, principal, team_id)
    return Response(status_code=204)
