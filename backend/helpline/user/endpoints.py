"""REST endpoints for users: admins manage, agents read, everyone reads themselves."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi import Path as PathParam

from helpline.auth import credentials
from helpline.auth.dependencies import (
    Authenticated,
    UsersRead,
    UsersWrite,
    session_store,
)
from helpline.auth.sessions import SessionStore
from helpline.config import Settings
from helpline.db import SessionDep, UnitOfWorkRoute, UowDep
from helpline.errors import (
    EmailTaken,
    InvalidCursorError,
    LastAdmin,
    PermissionDenied,
    SelfDemotion,
    UserNotFound,
)
from helpline.http import IDEMPOTENT, JSON_BODY, UNSAFE, problem_responses
from helpline.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from helpline.models.enums import Role
from helpline.services import services
from helpline.user import service
from helpline.user.schemas import UserCreate, UserRead, UserUpdate

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/users", tags=["users"])

UserId = Annotated[uuid.UUID, PathParam(description="User id.")]
Sessions = Annotated[SessionStore, Depends(session_store)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a user",
    description="Admins only (`users:write`). The email must be unique case-insensitively and "
    "syntactically valid; intranet domains such as `.local`, `.test` or `.internal` are accepted "
    "unless `HELPLINE_EMAIL_PUBLIC_DOMAINS_ONLY` is on. An optional password enables login for "
    "the web interface.",
    operation_id="createUser",
    responses=problem_responses(PermissionDenied, *UNSAFE, *JSON_BODY, *IDEMPOTENT, EmailTaken),
)
async def create_user(
    request: Request,
    body: UserCreate,
    session: SessionDep,
    _principal: UsersWrite,
    response: Response,
) -> UserRead:
    settings: Settings = services(request).settings
    row = await service.create_user(
        session, body, public_domains_only=settings.email_public_domains_only
    )
    response.headers["Location"] = f"/api/v1/users/{row.id}"
    return UserRead.model_validate(row)


@router.get(
    "",
    summary="List users",
    description="Agents and admins (`users:read`). Newest first, keyset-paginated; filters "
    "combine with AND. `email` matches case-insensitively and exactly.",
    operation_id="listUsers",
    responses=problem_responses(PermissionDenied, InvalidCursorError),
)
async def list_users(
    request: Request,
    session: SessionDep,
    _principal: UsersRead,
    role: Annotated[Role | None, Query(description="Only users with this role.")] = None,
    staff: Annotated[
        bool | None,
        Query(description="Only agents and admins (`true`), or only customers (`false`)."),
    ] = None,
    is_active: Annotated[bool | None, Query(description="Only active (or inactive) users.")] = None,
    email: Annotated[
        str | None, Query(min_length=3, max_length=320, description="Exact email.")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Page size (1-100).")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`meta.next_cursor` of the previous page.")
    ] = None,
) -> Page[UserRead]:
    page = await service.list_users(
        session,
        service.UserFilters(role=role, is_active=is_active, email=email, staff=staff),
        limit=limit,
        cursor=cursor,
        cursor_secret=services(request).settings.cursor_secret,
    )
    return Page[UserRead].of([UserRead.model_validate(r) for r in page.rows], page.next_cursor)


@router.get(
    "/{user_id}",
    summary="Get a user",
    description="Agents and admins read anyone; other callers only themselves (anyone else is "
    "404, as if it did not exist).",
    operation_id="getUser",
    responses=problem_responses(PermissionDenied, UserNotFound),
)
async def get_user(user_id: UserId, session: SessionDep, principal: Authenticated) -> UserRead:
    return UserRead.model_validate(await service.get_visible_user(session, principal, user_id))


@router.patch(
    "/{user_id}",
    summary="Update a user",
    description="Admins only. Changes name, role, active flag or password; a demotion or "
    "deactivation applies to the user's keys and sessions on their next request, and "
    "deactivation or a new password ends their sessions. Deactivation revokes their keys: "
    "reactivating the user does not revive them. `email`, `id` and other fields are "
    "rejected (422). The last active admin cannot be demoted or deactivated (409); an admin "
    "cannot demote or deactivate themselves (403 `self-demotion`).",
    operation_id="updateUser",
    responses=problem_responses(
        PermissionDenied, SelfDemotion, *UNSAFE, *JSON_BODY, UserNotFound, EmailTaken, LastAdmin
    ),
)
async def update_user(
    user_id: UserId,
    body: UserUpdate,
    uow: UowDep,
    principal: UsersWrite,
    sessions: Sessions,
) -> UserRead:
    row = await service.update_user(
        uow,
        user_id,
        body,
        sessions.delete_all,
        credentials.revoke_keys_of_user,
        acting_user=principal.user_id,
    )
    return UserRead.model_validate(row)


@router.delete(
    "/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Deactivate a user",
    description="Admins only. Users are never deleted (their tickets and history stay); they are "
    "deactivated: their keys are revoked and their sessions end at once (reactivating the user "
    "does not revive the keys; issue new ones). Not oneself (403 `self-demotion`).",
    operation_id="deactivateUser",
    responses=problem_responses(PermissionDenied, SelfDemotion, *UNSAFE, UserNotFound, LastAdmin),
)
async def deactivate_user(
    user_id: UserId, uow: UowDep, principal: UsersWrite, sessions: Sessions
) -> Response:
    await service.deactivate_user(
        uow,
        user_id,
        sessions.delete_all,
        credentials.revoke_keys_of_user,
        acting_user=principal.user_id,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
