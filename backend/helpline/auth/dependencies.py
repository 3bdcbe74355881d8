"""FastAPI dependencies: resolve the caller and check what the route declares it needs.

Every route declares its permission through one of these dependencies (a test walks all routes):
``require(scope)``, ``Authenticated`` (any valid credentials) or ``PUBLIC`` (no credentials).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import BaseRoute

from helpline.auth import keys, service
from helpline.auth.permissions import Scope
from helpline.auth.principal import Principal
from helpline.auth.principal_cache import PrincipalCache
from helpline.auth.ratelimit import RateLimiter, RateLimitResult, policy_for
from helpline.auth.sessions import SessionStore
from helpline.config import Settings
from helpline.db import (
    ActorContext,
    SessionDep,
    act_as,
    after_commit,
    end_read,
    route_reads,
)
from helpline.errors import PermissionDenied, Unauthenticated
from helpline.kit import roundtrip
from helpline.kit.clock import Clock

F = TypeVar("F", bound=Callable[..., Any])
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
GRAPHQL_PATH = "/graphql"


def security_schemes(cookie_name: str) -> dict[str, dict[str, str]]:
    """The OpenAPI security schemes: either API key header, or the session cookie. They are
    documented on every operation that needs credentials by the app's OpenAPI builder, not
    declared as dependencies: parsing stays in presented_key (a malformed header is a 401
    problem, never FastAPI's default error), and a request pays for no extra dependencies."""
    return {
        "ApiKeyBearer": {
            "type": "http",
            "description": "`Authorization: Bearer hl_…`",
            "scheme": "bearer",
        },
        "ApiKeyHeader": {
            "type": "apiKey",
            "description": "`X-API-Key: hl_…`",
            "in": "header",
            "name": "X-API-Key",
        },
        "SessionCookie": {
            "type": "apiKey",
            "description": "Session cookie from `POST /api/v1/auth/login`; unsafe methods also "
            "need `X-CSRF-Token`.",
            "in": "cookie",
            "name": cookie_name,
        },
    }


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


def cached_read(endpoint: F) -> F:
    """Mark a GET route whose service starts with a cache lookup: the caller's rate-limit hit
    rides along with that lookup (one Redis round trip on a hit; see ``kit.roundtrip``)."""
    endpoint.helpline_cached_read = True  # type: ignore[attr-defined]
    return endpoint


def _limit_of(request: Request, principal: Principal) -> tuple[str, str, int]:
    return policy_for(principal, request.app.state.settings.default_rate_limit_per_minute)


def _record_limit(request: Request, result: RateLimitResult) -> None:
    request.state.rate_limit = result
    if not result.allowed:
        raise result.exceeded()


async def limit_principal(request: Request, principal: Principal) -> None:
    """Count the request against the key's (or session user's) limit; 429 when exhausted."""
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        _record_limit(request, await limiter.hit(*_limit_of(request, principal)))


async def _api_key_principal(request: Request, session: AsyncSession, key: str) -> Principal:
    """The key's principal — from this process's cache when it may be trusted — and its
    rate-limit hit, in one Redis round trip (deferred to the route's cache lookup if it has one)."""
    if not keys.is_well_formed(key):
        raise Unauthenticated("The API key is malformed.")
    state = request.app.state
    settings: Settings = state.settings
    credential = keys.hash_key(settings.api_key_pepper.get_secret_value().encode(), key)
    cache: PrincipalCache = state.principals
    limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
    if limiter is not None and limiter.redis_configured and not limiter.uses_redis:
        cache.unobserved()  # Redis is down: no change can reach us, so trust nothing cached
    now = state.clock()
    principal = cache.get(credential, now)
    cached = principal is not None
    if principal is None:
        principal = await _resolve_key(session, cache, credential, state.clock)
    policy = _limit_of(request, principal)
    if limiter is None:
        pass
    elif not limiter.uses_redis or not cache.check_due:
        if limiter.uses_redis and getattr(
            request.scope.get("endpoint"), "helpline_cached_read", False
        ):  # the route's cache lookup sends the hit along
            roundtrip.defer(
                limiter.deferred(*policy, lambda r: setattr(request.state, "rate_limit", r))
            )
        else:
            _record_limit(request, await limiter.hit(*policy))
    else:  # read the principals' generation in the same round trip as the limit
        generation_call = roundtrip.command("GET", cache.generation_key)
        result, answers = await limiter.hit_with(*policy, [generation_call])
        if answers is None:
            cache.unobserved()
            if cached:
                principal = await _resolve_key(session, cache, credential, state.clock)
        elif not cache.observe(answers[0]) and cached:
            # Something changed somewhere since we last looked: resolve again from PostgreSQL.
            principal = await _resolve_key(session, cache, credential, state.clock)
        _record_limit(request, result)
    state.key_use.note(principal.api_key_id, now)
    return principal


async def _resolve_key(
    session: AsyncSession, cache: PrincipalCache, credential: bytes, clock: Clock
) -> Principal:
    generation = cache.generation  # read before the lookup: a change during it discards it
    resolved = await service.resolve_api_key(session, credential, clock=clock)
    await end_read(session)  # no connection held across the Redis work that follows
    cache.put(credential, resolved.principal, expires_at=resolved.expires_at, generation=generation)
    return resolved.principal


async def get_principal(request: Request, session: SessionDep) -> Principal:
    settings: Settings = request.app.state.settings
    key = presented_key(request)
    if key is not None:
        principal = await _api_key_principal(request, session, key)
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
        await limit_principal(request, principal)
    else:
        raise Unauthenticated.no_credentials()
    request.state.principal = principal
    router = getattr(request.app.state, "read_router", None)
    if router is not None:
        if request.method in WRITE_METHODS:  # the caller's next reads must see this write
            after_commit(session, lambda: router.record_write(principal.ident()))
        else:
            await end_read(session)  # a session lookup's snapshot must not pin reads to it
            route_reads(session, router, principal.ident())
    # Triggers need the actor; reads don't pay for it. GraphQL sets it per mutation
    # (graphql/limits.py): a query over POST is still a read.
    if request.method in WRITE_METHODS and request.url.path != GRAPHQL_PATH:
        await act_as(session, actor_context(request, principal))
    return principal


def actor_context(request: Request, principal: Principal) -> ActorContext:
    """Who acts in this request, for the database triggers (transaction-local settings)."""
    return ActorContext(
        actor_type=principal.actor_type,
        actor_id=str(principal.user_id),
        api_key_id=str(principal.api_key_id) if principal.api_key_id else None,
        request_id=request.state.request_id,
        ip=client_ip(request),
    )


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


def declared_permissions(route: BaseRoute | Any) -> set[str]:
    """What a route declares it needs (empty: nothing declared — a bug the route test catches)."""
    dependant = getattr(route, "dependant", None)
    return _declared(dependant) if dependant is not None else set()
