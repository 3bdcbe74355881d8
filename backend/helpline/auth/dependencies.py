"""FastAPI dependencies: resolve the caller and check what the route declares it needs.

Every route declares its permission through one of these dependencies (a test walks all routes):
``require(scope)``, ``Authenticated`` (any valid credentials) or ``PUBLIC`` (no credentials).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPBearer
from starlette.routing import BaseRoute

from helpline.auth import service
from helpline.auth.permissions import Scope
from helpline.auth.principal import Principal
from helpline.auth.ratelimit import RateLimiter
from helpline.auth.sessions import SessionStore
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
cookie_scheme = APIKeyCookie(
    name="helpline_session",
    auto_error=False,
    scheme_name="SessionCookie",
    description="Session cookie from `POST /api/v1/auth/login`; unsafe methods also need "
    "`X-CSRF-Token`.",
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


def session_store(request: Request) -> SessionStore:
    settings: Settings = request.app.state.settings
    return SessionStore(
        request.app.state.redis, settings.redis_key_prefix, settings.session_ttl_seconds
    )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def limit_principal(request: Request, principal: Principal) -> None:
    """Count the request against the key's (or session user's) limit; 429 when exhausted."""
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None:
        return
    settings: Settings = request.app.state.settings
    if principal.api_key_id is not None:
        policy, identity = "api-key", str(principal.api_key_id)
    else:
        policy, identity = "user", str(principal.user_id)
    limit = principal.rate_limit_per_minute or settings.default_rate_limit_per_minute
    result = await limiter.hit(policy, identity, limit)
    request.state.rate_limit = result
    if not result.allowed:
        raise result.exceeded()


async def get_principal(
    request: Request,
    session: SessionDep,
    _bearer: Annotated[Any, Depends(bearer_scheme)] = None,
    _header: Annotated[Any, Depends(header_scheme)] = None,
    _cookie: Annotated[Any, Depends(cookie_scheme)] = None,
) -> Principal:
    settings: Settings = request.app.state.settings
    key = presented_key(request)
    if key is not None:
        principal = await service.authenticate_api_key(
            session,
            key,
            pepper=settings.api_key_pepper.get_secret_value().encode(),
            request_id=request.state.request_id,
            ip=client_ip(request),
            clock=request.app.state.clock,
        )
    elif (token := request.cookies.get(settings.session_cookie_name)) is not None:
        principal = await service.authenticate_session(
            session,
            session_store(request),
            token,
            method=request.method,
            csrf_header=request.headers.get("x-csrf-token"),
            mark_secret=settings.secret_key.get_secret_value().encode(),
            request_id=request.state.request_id,
            ip=client_ip(request),
        )
    else:
        raise Unauthenticated("An API key is required.")
    request.state.principal = principal
    await limit_principal(request, principal)
    if principal.api_key_id is not None:
        await service.note_key_use(
            session,
            request.app.state.redis,
            settings.redis_key_prefix,
            principal.api_key_id,
            request.app.state.clock,
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require(scope: Scope) -> Any:
    """A dependency that admits only principals holding ``scope`` (role ∩ key scopes)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has(scope):
            raise PermissionDenied(f"This action needs the '{scope.value}' permission.")
        return principal

    check.required_scope = scope  # type: ignore[attr-defined]  # read by the route audit test
    check.required_permission = scope.value  # type: ignore[attr-defined]
    return Depends(check)


async def authenticated(principal: CurrentPrincipal) -> Principal:
    """Any valid credentials; the handler's service decides what the caller may see."""
    return principal


authenticated.required_permission = "authenticated"  # type: ignore[attr-defined]


async def public_route() -> None:
    """Marks a route as deliberately open to anonymous callers (per-IP rate limit applies)."""


public_route.required_permission = "public"  # type: ignore[attr-defined]

PUBLIC = Depends(public_route)
PermissionCheck = Callable[..., Awaitable[Principal]]
Authenticated = Annotated[Principal, Depends(authenticated)]
TicketsRead = Annotated[Principal, require(Scope.tickets_read)]
TicketsWrite = Annotated[Principal, require(Scope.tickets_write)]
UsersRead = Annotated[Principal, require(Scope.users_read)]
UsersWrite = Annotated[Principal, require(Scope.users_write)]
ApiKeysWrite = Annotated[Principal, require(Scope.api_keys_write)]


def _declared(dependant: Dependant) -> set[str]:
    found: set[str] = set()
    marker = getattr(dependant.call, "required_permission", None)
    if marker is not None:
        found.add(str(marker))
    for sub in dependant.dependencies:
        found |= _declared(sub)
    return found


def declared_permissions(route: BaseRoute) -> set[str]:
    """What a route declares it needs (empty: nothing declared — a bug the route test catches)."""
    dependant = getattr(route, "dependant", None)
    return _declared(dependant) if dependant is not None else set()
