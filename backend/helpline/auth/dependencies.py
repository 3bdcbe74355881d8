"""FastAPI dependencies: resolve the caller and check what the route declares it needs.

Every route declares its permission through one of these dependencies (a test walks all routes):
``require(scope)``, ``Authenticated`` (any valid credentials) or ``PUBLIC`` (no credentials).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from starlette.routing import BaseRoute

from helpline.auth.credentials import api_key_of, authenticate_session
from helpline.auth.permissions import Scope
from helpline.auth.principal import Principal
from helpline.auth.ratelimit import RateLimiter, RateLimitResult, policy_for
from helpline.auth.sessions import SessionStore
from helpline.config import Settings
from helpline.db import ActorContext, UnitOfWork, UowDep
from helpline.errors import PermissionDenied, Unauthenticated
from helpline.kit import roundtrip
from helpline.services import services

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
    return api_key_of(request.headers.get("authorization"), request.headers.get("x-api-key"))


def session_store(request: Request) -> SessionStore:
    settings: Settings = services(request).settings
    return SessionStore(
        services(request).redis, settings.redis_key_prefix, settings.session_ttl_seconds
    )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _limit_of(request: Request, principal: Principal) -> tuple[str, str, int]:
    return policy_for(principal, services(request).settings.default_rate_limit_per_minute)


def _record_limit(request: Request, result: RateLimitResult) -> None:
    request.state.rate_limit = result
    if not result.allowed:
        raise result.exceeded()


async def limit_principal(request: Request, principal: Principal, cost: int = 1) -> None:
    """Count the request (as ``cost`` requests: a costly GraphQL operation) against the key's
    (or session user's) limit; 429 when exhausted."""
    limiter: RateLimiter | None = services(request).rate_limiter
    if limiter is not None:
        _record_limit(request, await limiter.hit(*_limit_of(request, principal), cost=cost))


async def _api_key_principal(
    request: Request, uow: UnitOfWork, key: str, *, cached_read: bool
) -> Principal:
    """The key's principal — from this process's cache when it may be trusted — and its
    rate-limit hit, in one Redis round trip (deferred to the route's cache lookup on a
    ``cached_read`` route; see ``kit.roundtrip``)."""
    state = services(request)
    resolver = state.credentials
    credential = resolver.credential(key)
    cache = resolver.principals
    limiter: RateLimiter | None = state.rate_limiter
    if limiter is not None and limiter.redis_configured and not limiter.uses_redis:
        cache.unobserved()  # Redis is down: no change can reach us, so trust nothing cached
    principal = resolver.cached(credential)
    cached = principal is not None
    if principal is None:
        principal = await resolver.resolve(uow, credential)
    policy = _limit_of(request, principal)
    if limiter is None:
        pass
    elif not limiter.uses_redis or not cache.check_due:
        if limiter.uses_redis and cached_read:  # the route's cache lookup sends the hit along
            uow.defer(limiter.deferred(*policy, lambda r: setattr(request.state, "rate_limit", r)))
        else:
            _record_limit(request, await limiter.hit(*policy))
    else:  # read the principals' generation in the same round trip as the limit
        generation_call = roundtrip.command("GET", cache.generation_key)
        result, answers = await limiter.hit_with(*policy, [generation_call])
        if answers is None:
            cache.unobserved()
            if cached:
                principal = await resolver.resolve(uow, credential)
        elif not cache.observe(answers[0]) and cached:
            # Something changed somewhere since we last looked: resolve again from PostgreSQL.
            principal = await resolver.resolve(uow, credential)
        _record_limit(request, result)
    if principal.api_key_id is not None:  # always, for a key's principal
        state.key_use.note(principal.api_key_id, resolver.clock())
    return principal


async def _principal(request: Request, uow: UnitOfWork, *, cached_read: bool) -> Principal:
    settings: Settings = services(request).settings
    key = presented_key(request)
    if key is not None:
        principal = await _api_key_principal(request, uow, key, cached_read=cached_read)
    elif (token := request.cookies.get(settings.session_cookie_name)) is not None:
        principal = await authenticate_session(
            uow.session,
            session_store(request),
            token,
            method=request.method,
            csrf_header=request.headers.get("x-csrf-token"),
            mark_secret=settings.secret_key.get_secret_value().encode(),
            request_id=uow.identity.request_id or "",
            ip=uow.identity.ip or "",
        )
        await limit_principal(request, principal)
    else:
        raise Unauthenticated.no_credentials()
    uow.principal = principal
    router = services(request).read_router
    if router is not None:
        if request.method in WRITE_METHODS:  # the caller's next reads must see this write
            uow.after_commit(lambda: router.record_write(principal.ident()))
        else:
            await uow.release()  # a session lookup's snapshot must not pin reads to it
            uow.route_reads(router)
    # Triggers need the actor; reads don't pay for it. GraphQL sets it per mutation
    # (graphql/limits.py): a query over POST is still a read.
    if request.method in WRITE_METHODS and request.url.path != GRAPHQL_PATH:
        await uow.act_as(actor_context(uow, principal))
    return principal


async def get_principal(request: Request, uow: UowDep) -> Principal:
    """The caller; its rate-limit hit is sent at once."""
    return await _principal(request, uow, cached_read=False)


async def get_principal_for_cached_read(request: Request, uow: UowDep) -> Principal:
    """The caller of a GET whose service starts with a cache lookup: the rate-limit hit rides
    along with that lookup (one Redis round trip on a hit)."""
    return await _principal(request, uow, cached_read=True)


def actor_context(uow: UnitOfWork, principal: Principal) -> ActorContext:
    """Who acts in this unit of work, for the database triggers (transaction-local settings)."""
    return ActorContext(
        actor_type=principal.actor_type,
        actor_id=str(principal.user_id),
        api_key_id=str(principal.api_key_id) if principal.api_key_id else None,
        request_id=uow.identity.request_id,
        ip=uow.identity.ip or "",
    )


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


CachedReadPrincipal = Annotated[Principal, Depends(get_principal_for_cached_read)]


def _admit(principal: Principal, scope: Scope) -> Principal:
    if not principal.has(scope):
        raise PermissionDenied(f"This action needs the '{scope.value}' permission.")
    return principal


def require(scope: Scope, *, cached_read: bool = False) -> Any:
    """A dependency that admits only principals holding ``scope`` (role ∩ key scopes).

    ``cached_read``: the route's service starts with a cache lookup, which sends the caller's
    rate-limit hit along (:func:`get_principal_for_cached_read`)."""

    if cached_read:

        async def check(principal: CachedReadPrincipal) -> Principal:
            return _admit(principal, scope)

    else:

        async def check(principal: CurrentPrincipal) -> Principal:
            return _admit(principal, scope)

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
# For a GET whose service starts with a cache lookup (one Redis round trip on a hit).
TicketsReadCached = Annotated[Principal, require(Scope.tickets_read, cached_read=True)]
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
