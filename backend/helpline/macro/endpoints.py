"""REST endpoints for macros (agents and admins). Thin handlers over the service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response

from helpline.auth.dependencies import TicketsWrite, require
from helpline.auth.permissions import Scope
from helpline.auth.principal import Principal
from helpline.db import SessionDep, UnitOfWorkRoute, UowDep
from helpline.errors import (
    MacroNotFound,
    PermissionDenied,
    TemplateRefused,
    TicketClosed,
    TicketNotFound,
)
from helpline.http import IDEMPOTENT, JSON_BODY, UNSAFE, problem_responses
from helpline.kit.clock import utcnow
from helpline.macro import service
from helpline.macro.schemas import MacroApplied, MacroApply, MacroCreate, MacroRead, MacroUpdate

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/macros", tags=["macros"])

Reader = Annotated[Principal, require(Scope.tickets_read)]
MacroId = Annotated[uuid.UUID, Path(description="Macro id.")]


@router.post(
    "",
    status_code=201,
    summary="Create a macro",
    description="A personal macro, or with `shared: true` (admins) one every agent sees. The "
    "reply template and note templates are checked: an unknown placeholder or a construct the "
    "sandbox refuses → 422 `template-refused` naming each.",
    operation_id="createMacro",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, *JSON_BODY, *IDEMPOTENT, TemplateRefused
    ),
)
async def create_macro(
    session: SessionDep, principal: TicketsWrite, body: MacroCreate
) -> MacroRead:
    return MacroRead.model_validate(await service.create_macro(session, principal, body))


@router.get(
    "",
    summary="List macros",
    description="Shared macros and the caller's own, most used first (for the composer's picker).",
    operation_id="listMacros",
    responses=problem_responses(PermissionDenied),
)
async def list_macros(session: SessionDep, principal: Reader) -> list[MacroRead]:
    return [MacroRead.model_validate(m) for m in await service.list_macros(session, principal)]


@router.get(
    "/{macro_id}",
    summary="Get a macro",
    description="A shared macro or one of the caller's.",
    operation_id="getMacro",
    responses=problem_responses(PermissionDenied, MacroNotFound),
)
async def get_macro(session: SessionDep, principal: Reader, macro_id: MacroId) -> MacroRead:
    return MacroRead.model_validate(await service.get_macro(session, principal, macro_id))


@router.patch(
    "/{macro_id}",
    summary="Update a macro",
    description="Your own macros; shared ones are changed by admins.",
    operation_id="updateMacro",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, *JSON_BODY, MacroNotFound, TemplateRefused
    ),
)
async def update_macro(
    session: SessionDep, principal: TicketsWrite, macro_id: MacroId, body: MacroUpdate
) -> MacroRead:
    row = await service.update_macro(session, principal, macro_id, body, utcnow())
    return MacroRead.model_validate(row)


@router.delete(
    "/{macro_id}",
    status_code=204,
    summary="Delete a macro",
    description="Your own macros; shared ones are deleted by admins.",
    operation_id="deleteMacro",
    responses=problem_responses(PermissionDenied, *UNSAFE, MacroNotFound),
)
async def delete_macro(session: SessionDep, principal: TicketsWrite, macro_id: MacroId) -> Response:
    await service.delete_macro(session, principal, macro_id)
    return Response(status_code=204)


@router.post(
    "/{macro_id}/apply",
    summary="Apply a macro to a ticket",
    description="Renders the reply for the ticket (the composer shows it; it is not sent here) "
    "and lists what the actions change. With `apply: true` the actions are applied in this "
    "request's transaction (history and audit name the caller) and the use is counted.",
    operation_id="applyMacro",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, *JSON_BODY, MacroNotFound, TicketNotFound, TicketClosed
    ),
)
async def apply_macro(
    uow: UowDep, principal: TicketsWrite, macro_id: MacroId, body: MacroApply
) -> MacroApplied:
    return await service.apply_macro(uow, principal, macro_id, body, utcnow())
