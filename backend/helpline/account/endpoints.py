"""REST endpoints for API keys, login sessions and passwords: thin handlers over the account
service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi import Path as PathParam

from helpline.account import service
from helpline.account.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    ApiKeyRotate,
    LoginRequest,
    LoginResult,
    Me,
    PasswordChange,
    PasswordResetIssued,
    PasswordResetRedeem,
)
from helpline.audit.access import record_session_event
from helpline.auth.dependencies import (
    PUBLIC,
    ApiKeysWrite,
    Authenticated,
    UsersWrite,
    client_ip,
    session_store,
)
from helpline.auth.password_reset import PasswordResetStore
from helpline.config import Environment, Settings
from helpline.db import SessionDep, UnitOfWorkRoute, UowDep
from helpline.errors import (
    ApiKeyNotFound,
    ApiKeyNotRotatable,
    InvalidCredentials,
    PasswordResetTokenInvalid,
    PermissionDenied,
    ScopeNotGrantable,
    UserNotFound,
)
from helpline.http import IDEMPOTENT, JSON_BODY, UNSAFE, problem_responses
from helpline.services import services
from helpline.user.schemas import UserRead

keys_router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/api-keys", tags=["api-keys"])
auth_router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/auth", tags=["auth"])
# An admin acting on another user's credentials; under /users, where admins look for it.
user_credentials_router = APIRouter(
    route_class=UnitOfWorkRoute, prefix="/api/v1/users", tags=["users"]
)
UserId = Annotated[uuid.UUID, PathParam(description="User id.")]

KeyId = Annotated[uuid.UUID, PathParam(description="API key id.")]


def _pepper(request: Request) -> bytes:
    settings: Settings = services(request).settings
    return settings.api_key_pepper.get_secret_value().encode()


def _created(issued: service.IssuedKey) -> ApiKeyCreated:
    return ApiKeyCreated.model_validate(
        {**ApiKeyRead.model_validate(issued.row).model_dump(), "key": issued.secret}
    )


@keys_router.get(
    "",
    summary="List API keys",
    description="The caller's keys (admins: any user's with `user_id`), oldest first, including "
    "revoked and expired ones. Secrets are never returned; `prefix` identifies a key.",
    operation_id="listApiKeys",
    responses=problem_responses(PermissionDenied),
)
async def list_api_keys(
    session: SessionDep,
    principal: ApiKeysWrite,
    user_id: Annotated[uuid.UUID | None, Query(description="Owner (admins only).")] = None,
) -> list[ApiKeyRead]:
    rows = await service.list_keys_for(session, principal, user_id)
    return [ApiKeyRead.model_validate(r) for r in rows]


@keys_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key",
    description="Issues a key for the caller (admins: for `user_id`). Scopes must be within the "
    "owner's role (422) and, when the caller presents an API key, within that key's own scopes "
    "(403 `scope-not-grantable`: a key never mints a broader one). Without `scopes`: the role's "
    "scopes — within the presenting key's, or all of them for a cookie session. The secret "
    "`key` appears only in this response.",
    operation_id="createApiKey",
    responses=problem_responses(
        PermissionDenied, ScopeNotGrantable, *UNSAFE, *JSON_BODY, *IDEMPOTENT, UserNotFound
    ),
)
async def create_api_key(
    request: Request,
    body: ApiKeyCreate,
    session: SessionDep,
    principal: ApiKeysWrite,
    response: Response,
) -> ApiKeyCreated:
    issued = await service.create_key(
        session, principal, body, pepper=_pepper(request), clock=services(request).clock
    )
    response.headers["Location"] = f"/api/v1/api-keys/{issued.row.id}"
    response.headers["Cache-Control"] = "no-store"
    return _created(issued)


@keys_router.get(
    "/{key_id}",
    summary="Get an API key",
    description="One of the caller's keys (admins: anyone's); others are 404.",
    operation_id="getApiKey",
    responses=problem_responses(PermissionDenied, ApiKeyNotFound),
)
async def get_api_key(key_id: KeyId, session: SessionDep, principal: ApiKeysWrite) -> ApiKeyRead:
    return ApiKeyRead.model_validate(await service.get_key(session, principal, key_id))


@keys_router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key",
    description="The key stops working immediately on every server (idempotent).",
    operation_id="revokeApiKey",
    responses=problem_responses(PermissionDenied, *UNSAFE, ApiKeyNotFound),
)
async def revoke_api_key(
    request: Request, key_id: KeyId, uow: UowDep, principal: ApiKeysWrite
) -> Response:
    await service.revoke_key(uow, principal, key_id, clock=services(request).clock)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@keys_router.post(
    "/{key_id}/rotate",
    status_code=status.HTTP_201_CREATED,
    summary="Rotate an API key",
    description="Returns a new key with the same owner, name, scopes and limit; the old key keeps "
    "working for `grace_period_seconds` (default 24 h, 0 = stops now, at most 30 days), then "
    "gets 401 `api-key-expired`. A lineage has at most two live keys: rotating again while the "
    "previous grace period runs is 409. Through an API key, only keys whose scopes that key "
    "holds itself can be rotated (403 `scope-not-grantable`).",
    operation_id="rotateApiKey",
    responses=problem_responses(
        PermissionDenied,
        ScopeNotGrantable,
        *UNSAFE,
        *JSON_BODY,
        *IDEMPOTENT,
        ApiKeyNotFound,
        ApiKeyNotRotatable,
    ),
)
async def rotate_api_key(
    request: Request,
    key_id: KeyId,
    uow: UowDep,
    principal: ApiKeysWrite,
    response: Response,
    body: ApiKeyRotate | None = None,
) -> ApiKeyCreated:
    issued = await service.rotate_key(
        uow,
        principal,
        key_id,
        grace_period_seconds=(body or ApiKeyRotate()).grace_period_seconds,
        pepper=_pepper(request),
        clock=services(request).clock,
    )
    response.headers["Location"] = f"/api/v1/api-keys/{issued.row.id}"
    response.headers["Cache-Control"] = "no-store"
    return _created(issued)


@auth_router.post(
    "/login",
    summary="Log in (web interface)",
    description="Checks email and password and sets an HttpOnly, SameSite=Lax session cookie "
    "(Secure outside development). The session slides: it ends after "
    "`expires_in` idle seconds, at logout, deactivation or a password change. Send the returned "
    "`csrf_token` as `X-CSRF-Token` on unsafe requests. Wrong email and wrong password give the "
    "same 401; attempts are limited per IP and per account (429). While the session store "
    "(Redis) is unavailable every attempt is 503 (never 429), whatever the password; a login "
    "whose session could not be stored is 503 too, with no cookie and nothing changed.",
    operation_id="login",
    dependencies=[PUBLIC],
    responses=problem_responses(InvalidCredentials, *JSON_BODY, public=True),
)
async def login(
    request: Request, body: LoginRequest, uow: UowDep, response: Response
) -> LoginResult:
    settings: Settings = services(request).settings
    store = session_store(request)
    result = await service.check_login_limits(
        services(request).rate_limiter,
        store,
        ip=client_ip(request),
        email=str(body.email),
        per_ip=settings.login_rate_limit_per_ip_per_minute,
        per_account=settings.login_rate_limit_per_account_per_minute,
    )
    if result is not None:
        request.state.rate_limit = result
    outcome = await service.login(
        uow,
        store,
        email=str(body.email),
        password=body.password.get_secret_value(),
        mark_secret=settings.secret_key.get_secret_value().encode(),
        clock=services(request).clock,
    )
    # The one route that ends its transaction itself: the session is stored first (503 and a
    # rollback when it cannot be), then the login commits; a failed commit takes the stored
    # session back. Either way a failed login changes nothing and sets no cookie.
    await service.open_session(store, outcome)
    try:
        await uow.session.commit()
    except BaseException:
        await service.discard_session(store, outcome)
        raise
    user_id = outcome.user.id

    async def audit_login() -> None:  # after the commit (and the session write queued before)
        record_session_event(request, "auth.login", user_id)

    uow.after_commit(audit_login)
    response.set_cookie(
        settings.session_cookie_name,
        outcome.token,
        httponly=True,
        samesite="lax",
        secure=settings.env not in (Environment.development, Environment.test),
        path="/",
    )
    response.headers["Cache-Control"] = "no-store"
    return LoginResult(
        user=UserRead.model_validate(outcome.user),
        csrf_token=outcome.data.csrf_token,
        expires_in=settings.session_ttl_seconds,
    )


@auth_router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Log out",
    description="Ends the cookie session (needs `X-CSRF-Token`) and clears the cookie. With an "
    "API key it does nothing (revoke keys with `DELETE /api/v1/api-keys/{id}`).",
    operation_id="logout",
    responses=problem_responses(*UNSAFE, *IDEMPOTENT),
)
async def logout(request: Request, principal: Authenticated) -> Response:
    await service.logout(session_store(request), principal)
    if principal.session_id is not None:
        record_session_event(request, "auth.logout", principal.user_id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(services(request).settings.session_cookie_name, path="/")
    return response


@auth_router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change my password",
    description="Self-service: the current password is required (422 when wrong or when the new "
    "one is weak). Every other session of the user ends; a cookie session making the change "
    "stays valid. With an API key the change works the same and ends all sessions.",
    operation_id="changePassword",
    responses=problem_responses(*UNSAFE, *JSON_BODY, *IDEMPOTENT),
)
async def change_password(
    request: Request, body: PasswordChange, uow: UowDep, principal: Authenticated
) -> Response:
    settings: Settings = services(request).settings
    await service.change_password(
        uow,
        session_store(request),
        principal,
        current_password=body.current_password.get_secret_value(),
        new_password=body.new_password.get_secret_value(),
        mark_secret=settings.secret_key.get_secret_value().encode(),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth_router.post(
    "/password-reset",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Reset a password with a token",
    description="Sets a new password with a single-use token an admin issued "
    "(`POST /api/v1/users/{user_id}/password-reset`). An unknown, used, replaced or expired "
    "token is 400 `password-reset-token-invalid`; a weak password is 422 and leaves the token "
    "usable. All of the user's sessions end. No credentials needed (per-IP rate limit).",
    operation_id="redeemPasswordReset",
    dependencies=[PUBLIC],
    responses=problem_responses(PasswordResetTokenInvalid, *JSON_BODY, public=True),
)
async def redeem_password_reset(
    request: Request, body: PasswordResetRedeem, uow: UowDep
) -> Response:
    await service.redeem_password_reset(
        uow,
        password_resets(request),
        session_store(request),
        token=body.token.get_secret_value(),
        new_password=body.new_password.get_secret_value(),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def password_resets(request: Request) -> PasswordResetStore:
    settings: Settings = services(request).settings
    return PasswordResetStore(
        services(request).redis, settings.redis_key_prefix, settings.password_reset_ttl_seconds
    )


@auth_router.get(
    "/me",
    summary="Who am I",
    description="The authenticated user and the effective permissions of these credentials "
    "(key scopes ∩ the current role).",
    operation_id="getMe",
    responses=problem_responses(),
)
async def me(session: SessionDep, principal: Authenticated) -> Me:
    return await service.describe_me(session, principal)


@user_credentials_router.post(
    "/{user_id}/password-reset",
    status_code=status.HTTP_201_CREATED,
    summary="Issue a password reset token",
    description="Admins only. Returns a single-use token, shown only in this response, that the "
    "user redeems with `POST /api/v1/auth/password-reset` within `expires_in` seconds "
    "(`HELPLINE_PASSWORD_RESET_TTL_SECONDS`). Issuing another token replaces the previous one. "
    "The current password keeps working until the token is redeemed.",
    operation_id="issuePasswordReset",
    responses=problem_responses(PermissionDenied, *UNSAFE, *IDEMPOTENT, UserNotFound),
)
async def issue_password_reset(
    request: Request,
    user_id: UserId,
    session: SessionDep,
    _principal: UsersWrite,
    response: Response,
) -> PasswordResetIssued:
    resets = password_resets(request)
    token = await service.issue_password_reset(session, resets, user_id)
    response.headers["Cache-Control"] = "no-store"
    return PasswordResetIssued(user_id=user_id, token=token, expires_in=resets.ttl)
