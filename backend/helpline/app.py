"""create_app(): lifespan, middleware, routers, error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Match

from helpline import __version__
from helpline.account.endpoints import auth_router, keys_router, user_credentials_router
from helpline.attachment.endpoints import router as attachment_router
from helpline.attachment.storage import make_storage
from helpline.audit.access import record_access_failure
from helpline.audit.endpoints import router as audit_router
from helpline.audit.service import AuditService
from helpline.auth import principal_cache
from helpline.auth.credentials import CredentialResolver
from helpline.auth.dependencies import declared_permissions, security_schemes
from helpline.auth.principal_cache import PrincipalCache
from helpline.auth.ratelimit import RateLimiter
from helpline.auth.usage import KeyUseRecorder
from helpline.config import Settings, get_settings
from helpline.console.endpoints import router as console_router
from helpline.conversation.endpoints import router as conversation_router
from helpline.db import Database, make_engine
from helpline.draft.endpoints import router as draft_router
from helpline.errors import (
    PROBLEM_CONTENT_TYPE,
    BadRequest,
    DependencyUnavailable,
    HelplineError,
    InvalidCursorError,
    MethodNotAllowed,
    NotFound,
    ValidationFailed,
)
from helpline.errors import database_error as _database_error
from helpline.events import live as events_live
from helpline.events.endpoints import router as events_router
from helpline.graphql.router import graphql_router
from helpline.health.endpoints import router as health_router
from helpline.history.endpoints import router as history_router
from helpline.http import NotModified, problem_json_bytes
from helpline.idempotency import middleware as idempotency
from helpline.kit import cache as kit_cache
from helpline.kit.clock import Clock, utcnow
from helpline.kit.cursor import InvalidCursor
from helpline.logs import configure_logging
from helpline.macro.endpoints import router as macro_router
from helpline.mail import outbox as mail_outbox
from helpline.mail.endpoints import INBOUND_PATH
from helpline.mail.endpoints import router as mail_router
from helpline.metadata.endpoints import router as metadata_router
from helpline.presence.endpoints import router as presence_router
from helpline.presence.service import PresenceService
from helpline.report.endpoints import router as report_router
from helpline.rule.endpoints import router as rule_router
from helpline.runtime import (
    make_read_router,
    make_redis,
    migrations_dir,
    resolve_database_url,
    tune_gc,
)
from helpline.server.metrics import router as metrics_router
from helpline.server.middleware import HelplineMiddleware
from helpline.server.proxies import parse_networks
from helpline.server.spa import mount_frontend
from helpline.services import AppServices
from helpline.sla.endpoints import (
    calendars_router,
    clocks_router,
    policies_router,
    queue_router,
)
from helpline.team.endpoints import router as team_router
from helpline.ticket import cache as ticket_cache
from helpline.ticket.endpoints import router as ticket_router
from helpline.user.endpoints import router as user_router
from helpline.view.endpoints import router as view_router
from helpline.webhook.endpoints import router as webhook_router

log = structlog.get_logger("helpline.app")

API_DESCRIPTION = """
Helpline's ticket service. Authenticate with `Authorization: Bearer <api key>` (or `X-API-Key`).
Errors are RFC 9457 `application/problem+json` documents with a stable `type`
(`/problems/<slug>`). Lists are keyset-paginated: pass `meta.next_cursor` back as `cursor`.
"""


def _scripts() -> Any:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return ScriptDirectory.from_config(config)


def migration_head() -> str | None:
    head: str | None = _scripts().get_current_head()
    return head


def known_revisions() -> frozenset[str]:
    """Every revision this release ships: a database at any other revision is ahead of it."""
    return frozenset(script.revision for script in _scripts().walk_revisions())


def _problem(exc: HelplineError, request: Request) -> Response:
    body = problem_json_bytes(
        exc, instance=request.url.path, request_id=getattr(request.state, "request_id", None)
    )
    return Response(
        body, status_code=exc.status, media_type=PROBLEM_CONTENT_TYPE, headers=exc.headers
    )


def _validation_errors(exc: RequestValidationError) -> HelplineError:
    errors = [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        return BadRequest("The request body is not valid JSON.", errors=errors)
    fields = ", ".join(".".join(e["loc"]) for e in errors[:5])
    return ValidationFailed(f"Invalid input: {fields}.", errors=errors)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette reports only the first route's).

    Asked of the router itself, method by method: FastAPI wraps included routers in route
    objects of its own, whose ``methods`` are not the routes' (reading them gave an empty
    ``Allow``)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HelplineError)
    async def helpline_error(request: Request, exc: HelplineError) -> Response:
        record_access_failure(request, exc)
        return _problem(exc, request)

    @app.exception_handler(InvalidCursor)
    async def invalid_cursor(request: Request, exc: InvalidCursor) -> Response:
        return _problem(InvalidCursorError(str(exc)), request)

    @app.exception_handler(NotModified)
    async def not_modified(request: Request, exc: NotModified) -> Response:
        return Response(status_code=304, headers={"ETag": exc.etag})

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return _problem(_validation_errors(exc), request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        mapped: HelplineError
        if exc.status_code == 404:
            mapped = NotFound("No such route.")
        elif exc.status_code == 405:
            mapped = MethodNotAllowed(headers={"Allow": ", ".join(_allowed_methods(request))})
        else:
            mapped = BadRequest(str(exc.detail))
            mapped.status = exc.status_code  # type: ignore[misc]
        return _problem(mapped, request)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        mapped = _database_error(exc)
        if mapped is None:
            if isinstance(exc, OperationalError | InterfaceError):
                log.warning("database unavailable", error=type(exc.orig).__name__)
                return _problem(DependencyUnavailable(), request)
            log.exception("database error", request_id=request.state.request_id)
            return _problem(HelplineError(), request)
        return _problem(mapped, request)

    @app.exception_handler(PoolTimeout)
    async def pool_timeout(request: Request, exc: PoolTimeout) -> Response:
        return _problem(DependencyUnavailable("No database connection was free in time."), request)

    @app.exception_handler(OSError)
    async def os_error(request: Request, exc: OSError) -> Response:
        log.warning("dependency unreachable", error=type(exc).__name__)
        return _problem(DependencyUnavailable(), request)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", request_id=getattr(request.state, "request_id", None))
        return _problem(HelplineError(), request)


def document_security(app: FastAPI, settings: Settings) -> None:
    """Name the credential schemes on every operation that needs credentials (those whose
    dependencies declare a permission other than `public`), as FastAPI would for security
    dependencies — without running any per request."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schemes = security_schemes(settings.session_cookie_name)
        schema.setdefault("components", {})["securitySchemes"] = schemes
        requirement: list[dict[str, list[str]]] = [{name: []} for name in schemes]
        for context in iter_route_contexts(app.routes):
            if not declared_permissions(context._effective_route) - {"public"}:
                continue
            for method in context.methods or ():
                operation = schema["paths"].get(context.path, {}).get(method.lower())
                if operation is not None:
                    operation["security"] = requirement
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


OPENAPI_TAGS = [
    {"name": "tickets", "description": "Support tickets."},
    {"name": "metadata", "description": "Key/value metadata of a ticket."},
    {"name": "conversations", "description": "Messages and internal notes of a ticket."},
    {"name": "health", "description": "Probes for orchestrators."},
    {"name": "audit", "description": "Audit events (admins, scope `audit:read`)."},
    {"name": "events", "description": "The change feed of tickets (resumable), also live (SSE)."},
    {"name": "drafts", "description": "Your unsent reply per ticket (server-side autosave)."},
    {
        "name": "presence",
        "description": "Who is viewing or replying to which ticket now (staff; expiring).",
    },
    {"name": "webhooks", "description": "Signed event deliveries (admins)."},
    {"name": "teams", "description": "Teams of agents; a ticket belongs to at most one."},
    {
        "name": "macros",
        "description": "Canned replies (sandboxed templates) with actions, personal or shared.",
    },
    {
        "name": "rules",
        "description": "Automation rules run by the worker from the change feed (admins).",
    },
    {
        "name": "views",
        "description": "Your saved inbox views: named ticket-list filters (agents and admins).",
    },
    {
        "name": "console",
        "description": "The web console's bootstrap: what every page needs once per session.",
    },
    {
        "name": "email",
        "description": "The email channel: mailboxes, the inbound endpoint, the quarantine and "
        "suppressed addresses.",
    },
    {"name": "auth", "description": "Login sessions and the caller's identity."},
    {"name": "api-keys", "description": "API keys: create, rotate, revoke."},
    {"name": "users", "description": "Users: admins manage, agents read."},
    {
        "name": "attachments",
        "description": "Files on conversation messages: upload, descriptor, content.",
    },
    {
        "name": "service levels",
        "description": "SLA calendars and policies, recomputations, a ticket's clocks and the "
        "queue of tickets by deadline.",
    },
    {
        "name": "reports",
        "description": "First-response and resolution times, in buckets of a time zone.",
    },
]
CORS_HEADERS = [
    "Authorization",
    "X-API-Key",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "X-Request-ID",
    "X-CSRF-Token",
]
CORS_EXPOSED = ["ETag", "Location", "X-Request-ID", "RateLimit", "RateLimit-Policy", "Retry-After"]


async def open_services(
    settings: Settings, *, database: Database | None, redis: Any, clock: Clock
) -> AppServices:
    """Build the application's services (a database or Redis client given by the caller stays
    the caller's to close)."""
    db = database or Database(make_engine(resolve_database_url(settings), settings))
    redis = redis if redis is not None else make_redis(settings)
    cache = kit_cache.open_backend(redis, settings)
    principals = PrincipalCache(
        key=principal_cache.generation_key(settings.redis_key_prefix),
        ttl_s=settings.principal_cache_ttl_s,
        check_interval_s=settings.principal_check_interval_s,
    )
    services = AppServices(
        settings=settings,
        clock=clock,
        db=db,
        redis=redis,
        cache=cache,
        rate_limiter=RateLimiter.for_app(settings),
        principals=principals,
        credentials=CredentialResolver(
            pepper=settings.api_key_pepper.get_secret_value().encode(),
            principals=principals,
            clock=clock,
        ),
        key_use=KeyUseRecorder(db, interval_s=settings.key_use_flush_interval_s),
        audit=AuditService(
            db,
            clock=clock,
            capacity=settings.audit_buffer_size,
            batch_size=settings.audit_batch_size,
        ),
        attachment_storage=make_storage(settings),
        migration_head=migration_head(),
        known_revisions=known_revisions(),
        reply_mailer=mail_outbox.queue_reply,
    )
    services.periodic = [services.audit.flusher, services.key_use.flusher]
    if not settings.uses_embedded_redis:  # ticket invalidations and principal changes
        outbox = ticket_cache.InvalidationOutbox(
            db,
            None if cache is None else ticket_cache.for_app(cache),
            interval_s=settings.cache_outbox_interval_s,
            retention_s=2 * max(settings.cache_ticket_ttl_s, settings.principal_cache_ttl_s),
        )
        # A principal change recorded by a process cut off from Redis: replace the generation.
        outbox.principals = principal_cache.generation_deliverer(
            redis,
            principals.generation_key,
            principals,
            timeout_s=settings.cache_op_timeout_ms / 1000,
        )
        services.invalidation_outbox = outbox
        services.periodic.append(outbox.deliverer)
    services.feed_watcher = events_live.watcher_for(services)
    services.presence = PresenceService(
        redis, settings.redis_key_prefix, ttl_s=settings.presence_ttl_s, clock=clock
    )
    if settings.database_replica_urls:
        services.read_router = make_read_router(settings, db.engine, redis)
        await services.read_router.start()  # polls once now; its poller is a periodic task
    return services


async def close_services(services: AppServices, *, database: Database | None, redis: Any) -> None:
    """Stop the background loops (each flushes what it holds) and close what was opened here."""
    for task in services.periodic:
        await task.stop()
    if services.feed_watcher is not None:
        await services.feed_watcher.stop()
    if services.read_router is not None:
        await services.read_router.stop()
    kit_cache.close_backend(services.cache)
    if database is None:
        await services.db.dispose()
    if redis is None:
        await services.redis.aclose()
    if services.rate_limiter is not None:
        await services.rate_limiter.aclose()


def make_lifespan(
    settings: Settings, *, database: Database | None, redis: Any, clock: Clock, background: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Open the services at start-up (and the background loops when ``background``), close
    them at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await open_services(settings, database=database, redis=redis, clock=clock)
        app.state.services = services
        outbox = services.invalidation_outbox
        publisher = principal_cache.redis_publisher(
            services.redis,
            services.principals.generation_key,
            services.principals,
            on_lost=None if outbox is None else outbox.record_principal_change,
        )
        principal_cache.register_publisher(publisher)
        if background:
            for task in services.periodic:
                task.start()
        services.audit.system_event("system.started", version=__version__, env=settings.env.value)
        log.info(
            "helpline started",
            version=__version__,
            env=settings.env.value,
            database="embedded" if settings.uses_embedded_database else "external",
            redis="in-process" if settings.uses_embedded_redis else "external",
        )
        if background:  # a serving process: its start-up heap out of the collector's reach
            tune_gc()
        try:
            yield
        finally:
            services.audit.system_event("system.stopped", version=__version__)
            principal_cache.unregister_publisher(publisher)
            await close_services(services, database=database, redis=redis)
            log.info("helpline stopped")

    return lifespan


def include_routers(app: FastAPI, settings: Settings) -> None:
    for router in (
        health_router,
        ticket_router,
        metadata_router,
        conversation_router,
        history_router,
        audit_router,
        events_router,
        presence_router,
        draft_router,
    ):
        app.include_router(router)
    app.include_router(graphql_router(settings))
    app.include_router(attachment_router)
    for router in (
        auth_router,
        keys_router,
        user_router,
        user_credentials_router,
        webhook_router,
        mail_router,
        team_router,
        macro_router,
        rule_router,
        view_router,
        console_router,
    ):
        app.include_router(router)
    for router in (calendars_router, policies_router, clocks_router, queue_router, report_router):
        app.include_router(router)
    app.include_router(metrics_router)


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Innermost first: idempotency, then CORS, then the request context (outermost)."""
    app.add_middleware(idempotency.IdempotencyMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=CORS_HEADERS,
            expose_headers=CORS_EXPOSED,
            max_age=600,
        )
    app.add_middleware(
        HelplineMiddleware,
        max_body_bytes=settings.max_request_body_bytes,
        session_cookie_name=settings.session_cookie_name,
        trusted_proxies=parse_networks(settings.trusted_proxies),
        raw_body_paths=("/api/v1/attachments", INBOUND_PATH),
        raw_max_body_bytes=max(settings.attachment_max_bytes, settings.mail_max_bytes) + 1_048_576,
        access_log_enabled=settings.access_log,
    )


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    redis: Any = None,
    clock: Clock = utcnow,
    background: bool = True,
) -> FastAPI:
    """Build the ASGI application. A caller may hand in the database, the Redis client and the
    clock; ``background=False`` runs no background loops (their owner flushes them)."""
    settings = settings or get_settings()
    configure_logging(settings)
    app = FastAPI(
        title="Helpline",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=make_lifespan(
            settings, database=database, redis=redis, clock=clock, background=background
        ),
        debug=settings.debug,
        # FastAPI's built-in OpenTelemetry hooks asked OpenTelemetry for its providers (reading
        # the environment) on every request; Helpline has its own metrics and structured logs.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        openapi_tags=OPENAPI_TAGS,
    )
    install_error_handlers(app)
    include_routers(app, settings)
    install_middleware(app, settings)
    document_security(app, settings)
    mount_frontend(app, settings)  # the web interface answers only what no API route does
    return app
