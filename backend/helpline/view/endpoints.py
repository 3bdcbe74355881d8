"""REST endpoints for saved views (agents and admins, each their own). Thin handlers over the
service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response

from helpline.auth.dependencies import TicketsWrite, require
from helpline.auth.permissions import Scope
from helpline.auth.principal import Principal
from helpline.db import SessionDep, UnitOfWorkRoute
from helpline.errors import NameTaken, PermissionDenied, ViewLimitReached, ViewNotFound
from helpline.http import IDEMPOTENT, JSON_BODY, UNSAFE, problem_responses
from helpline.kit.clock import utcnow
from helpline.view import service
from helpline.view.schemas import MAX_VIEWS_PER_USER, ViewCreate, ViewRead, ViewUpdate

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/views", tags=["views"])

Reader = Annotated[Principal, require(Scope.tickets_read)]
ViewId = Annotated[uuid.UUID, Path(description="Saved view id.")]
ABOUT = (
    " A saved view is a named set of the ticket list's filters and sort (`query`, by the query "
    "parameter names of `GET /api/v1/tickets`), private to the agent or admin who saved it: "
    "another user's view is 404, and a customer has none (403)."
)


@router.get(
    "",
    summary="List your saved views",
    description="The caller's saved views in their order (`position`, then name); at most "
    f"{MAX_VIEWS_PER_USER}." + ABOUT,
    operation_id="listViews",
    response_model_exclude_none=True,
    responses=problem_responses(PermissionDenied),
)
async def list_views(session: SessionDep, principal: Reader) -> list[ViewRead]:
    return [ViewRead.model_validate(v) for v in await service.list_views(session, principal)]


@router.post(
    "",
    status_code=201,
    summary="Save a view",
    description="Save the inbox's filters under a name unique among your views "
    "(case-insensitively; taken → 409 `name-taken`). Without `position` it goes last; "
    f"`is_default: true` makes it the one the inbox opens with. At most {MAX_VIEWS_PER_USER} "
    "views per user (→ 409 `view-limit-reached`). A `query` key the ticket list does not take, "
    "or a value it would refuse, → 422." + ABOUT,
    operation_id="createView",
    response_model_exclude_none=True,
    responses=problem_responses(
        PermissionDenied, *UNSAFE, *JSON_BODY, *IDEMPOTENT, NameTaken, ViewLimitReached
    ),
)
async def create_view(session: SessionDep, principal: TicketsWrite, body: ViewCreate) -> ViewRead:
    return ViewRead.model_validate(await service.create_view(session, principal, body))


@router.get(
    "/{view_id}",
    summary="Get one of your saved views",
    description="One of the caller's saved views." + ABOUT,
    operation_id="getView",
    response_model_exclude_none=True,
    responses=problem_responses(PermissionDenied, ViewNotFound),
)
async def get_view(session: SessionDep, principal: Reader, view_id: ViewId) -> ViewRead:
    return ViewRead.model_validate(await service.get_view(session, principal, view_id))


@router.patch(
    "/{view_id}",
    summary="Change a saved view",
    description="Rename it, replace its `query` (e.g. with the inbox's current filters), move "
    "it (`position`), or make it your default (`is_default: true` unsets the previous one; "
    "`false` leaves you without one). Only the fields given change." + ABOUT,
    operation_id="updateView",
    response_model_exclude_none=True,
    responses=problem_responses(PermissionDenied, *UNSAFE, *JSON_BODY, ViewNotFound, NameTaken),
)
async def update_view(
    session: SessionDep, principal: TicketsWrite, view_id: ViewId, body: ViewUpdate
) -> ViewRead:
    row = await service.update_view(session, principal, view_id, body, utcnow())
    return ViewRead.model_validate(row)


@router.delete(
    "/{view_id}",
    status_code=204,
    summary="Delete a saved view",
    description="Delete one of the caller's saved views." + ABOUT,
    operation_id="deleteView",
    responses=problem_responses(PermissionDenied, *UNSAFE, ViewNotFound),
)
async def delete_view(session: SessionDep, principal: TicketsWrite, view_id: ViewId) -> Response:
    await service.delete_view(session, principal, view_id)
    return Response(status_code=204)
