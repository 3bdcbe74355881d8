"""FastAPI dependencies: resolve the caller and check what the route declares it needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBearer

from helpline.auth import service
from helpline.auth.permissions import Scope
from helpline.auth.principal import Principal
from helpline.config import Settings
from helpline.db import SessionDep
from helpline.errors import PermissionDenied, Unauthenticated


# Declared for OpenAPI (either header authenticates); parsing stays in presented_key so that a
# malformed header is a 401 problem, never FastAPI's default error.
bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="ApiKeyBearer", description="`Authorization: Bearer hl_…`"
)
header_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="ApiKeyHeader", description="`X-API-Key: hl_…`"
)


def presented_key(request: Request) -> str | None:
    """The API key from ``Authorization: Bearer`` or ``X-API-Key``."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise Unauthenticated("Use 'Authorization: Bearer <api key>'.")
        return credentials.strip()
    return request.headers.get("x-api-key")


async def get_principal(
    request: Request,
    session: SessionDep,
    _bearer: Annotated[Any, Depends(bearer_scheme)] = None,
    _header: Annotated[Any, Depends(header_scheme)] = None,
) -> Principal:
    key = presented_key(request)
    if key is None:
        raise Unauthenticated("An API key is required.")
    settings: Settings = request.app.state.settings
    principal = await service.authenticate_api_key(
        session,
        key,
        pepper=settings.api_key_pepper.get_secret_value().encode(),
        request_id=request.state.request_id,
        ip=request.client.host if request.client else "",
        clock=request.app.state.clock,
    )
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require(scope: Scope) -> Any:
    """A dependency that admits only principals holding ``scope`` (role ∩ key scopes)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has(scope):
            raise PermissionDenied(f"This action needs the '{scope.value}' permission.")
        return principal

    check.required_scope = scope  # type: ignore[attr-defined]  # read by the route audit test
    return Depends(check)


PermissionCheck = Callable[..., Awaitable[Principal]]
TicketsRead = Annotated[Principal, require(Scope.tickets_read)]
TicketsWrite = Annotated[Principal, require(Scope.tickets_write)]
