"""The one pure-ASGI middleware: request id, client address, body limits, anonymous rate limit,
rate-limit headers, the request's unit of work and the access log — one pass over the headers
per request.

Every other concern lives in the route's dependencies. Kept as one layer on purpose: each ASGI
layer costs a coroutine frame and a ``send`` wrapper per message on every request.
"""

from __future__ import annotations

import json
import random
import re
import time
from dataclasses import dataclass

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpline.audit.service import record_rate_limited
from helpline.auth.ratelimit import RateLimiter, RateLimitResult, policy_for
from helpline.db import RequestIdentity
from helpline.db.route import attach_work
from helpline.db.work import Caller
from helpline.errors import (
    HelplineError,
    JsonTooDeep,
    PayloadTooLarge,
    RateLimited,
    UnsupportedMediaType,
)
from helpline.http import send_problem
from helpline.kit.unicode import lone_surrogate_at, may_hold_surrogates
from helpline.server.proxies import Network, forwarded_client
from helpline.server.unicode_input import not_unicode
from helpline.services import AppServices

access_log = structlog.get_logger("helpline.access")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})  # methods whose JSON body we type-check
PROBE_PREFIX = "/health/"
# What an anonymous client is limited on: the API and its documents. The web interface's static
# files (a page load fetches several) are served without a Redis round trip each.
LIMITED_PREFIXES = ("/api/", "/graphql", "/openapi.json", "/docs", "/redoc", "/metrics")
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True if arrays/objects in ``body`` nest deeper than ``limit`` (checked before parsing, so
    no parser ever recurses that far). Fast path: fewer brackets than the limit cannot nest."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub(b"", body)):
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


@dataclass(slots=True)
class _Seen:
    """What one pass over a request's headers found (HelplineMiddleware._scan)."""

    request_id: str = ""
    credentials: bytes | None = None  # b"": a session cookie
    length: bytes | None = None
    ctype: bytes | None = None
    chunked: bytes | None = None
    xff: bytes | None = None
    fwd: bytes | None = None
    client: str = ""


class _ResponseHeaders:
    """The ``send`` the app gets: adds ``X-Request-ID`` and the rate-limit headers to the
    response start, and charges credentials that were never resolved (a bad key, no such route,
    a body that failed before authentication); an anonymous refusal replaces the response."""

    __slots__ = ("downstream", "limited", "replaced", "scope", "seen", "services", "status")

    def __init__(
        self, scope: Scope, downstream: Send, services: AppServices, seen: _Seen, limited: bool
    ) -> None:
        self.scope = scope
        self.downstream = downstream
        self.services = services
        self.seen = seen
        self.limited = limited
        self.status = 500
        self.replaced = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            headers = [
                *message.get("headers", ()),
                (b"x-request-id", self.seen.request_id.encode()),
            ]
            if self.limited and not await self._rate_limit_headers(headers):
                return
            message["headers"] = headers
        elif self.replaced:
            return
        await self.downstream(message)

    async def _rate_limit_headers(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """Add the rate-limit headers; False when a refusal was sent instead."""
        limiter = self.services.rate_limiter
        if limiter is None:
            return True
        result = self.scope["state"].get("rate_limit")
        credentials, ip = self.seen.credentials, self.seen.client
        if result is None and credentials is not None:
            result = await _late_hit(self.services, limiter, credentials, ip)
            if not result.allowed and result.policy == "anonymous":
                self.replaced = True
                refused = result.exceeded()
                _audit(self.services, refused, ip)
                path, request_id = self.scope["path"], self.seen.request_id
                await send_problem(self.downstream, refused, instance=path, request_id=request_id)
                return False
        if result is not None and not any(k == b"ratelimit-policy" for k, _ in headers):
            headers.extend(result.header_pairs())
        return True


class HelplineMiddleware:
    """Request context, limits and logging for every HTTP request (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        session_cookie_name: str,
        trusted_proxies: tuple[Network, ...] = (),
        json_prefixes: tuple[str, ...] = ("/api/",),
        raw_body_paths: tuple[str, ...] = (),
        raw_max_body_bytes: int | None = None,
        access_log_enabled: bool = True,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.cookie_marker = session_cookie_name.encode() + b"="
        self.trusted_proxies = trusted_proxies
        self.json_prefixes = json_prefixes
        self.raw_body_paths = raw_body_paths
        self.raw_max_body_bytes = raw_max_body_bytes
        self.access_log_enabled = access_log_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        seen = self._scan(scope)
        services: AppServices = scope["app"].state.services
        request_id, ip = seen.request_id, seen.client
        scope.setdefault("state", {})["request_id"] = request_id
        uow = services.db.work(identity=RequestIdentity(request_id, ip), cache=services.cache)
        attach_work(scope, uow)
        path: str = scope["path"]
        # Probes and the web interface's static files: never limited, never counted.
        limited = services.rate_limiter is not None and not (
            path.startswith(PROBE_PREFIX) or not path.startswith(LIMITED_PREFIXES)
        )
        response = _ResponseHeaders(scope, send, services, seen, limited)
        # Every log line written while serving this request carries its id.
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            admitted = await self._admit(scope, receive, response, services, seen, limited)
            if admitted is not None:
                await self.app(scope, admitted, response.send)
        finally:
            if self.access_log_enabled:
                self._log(scope, response.status, started, uow.principal)
            structlog.contextvars.unbind_contextvars("request_id")

    def _scan(self, scope: Scope) -> _Seen:
        """One pass over the request headers: what the rest of the request needs of them."""
        seen = _Seen()
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                seen.request_id = value.decode("latin-1")
            elif name in (b"authorization", b"x-api-key"):
                seen.credentials = value
            elif name == b"cookie":
                if seen.credentials is None and self.cookie_marker in value:
                    seen.credentials = b""
            elif name == b"content-length":
                seen.length = value
            elif name == b"content-type":
                seen.ctype = value
            elif name == b"transfer-encoding":
                seen.chunked = value
            elif name == b"x-forwarded-for":
                seen.xff = value
            elif name == b"forwarded":
                seen.fwd = value
        if not seen.request_id or not REQUEST_ID_RE.match(seen.request_id):
            # Unique, not secret: no system call per request (uuid4 reads os.urandom).
            seen.request_id = f"{random.getrandbits(128):032x}"  # nosec B311
        client = scope.get("client")
        peer = str(client[0]) if client else "unknown"
        seen.client = forwarded_client(peer, seen.xff, seen.fwd, self.trusted_proxies)
        if seen.client != peer:
            scope["client"] = (seen.client, 0)
        return seen

    async def _admit(
        self,
        scope: Scope,
        receive: Receive,
        response: _ResponseHeaders,
        services: AppServices,
        seen: _Seen,
        limited: bool,
    ) -> Receive | None:
        """The receive the app gets, or None when the request was answered here (a body over the
        limit or of the wrong type, or an anonymous caller over its rate limit)."""
        path, request_id = scope["path"], seen.request_id
        rejection = self._reject(scope, seen.length, seen.ctype, seen.chunked)
        if rejection is not None:
            await send_problem(response.send, rejection, instance=path, request_id=request_id)
            return None
        if self._buffers(scope, seen.length, seen.chunked):
            # Read the whole (bounded) JSON body first: a chunked body over the limit is a 413
            # like a declared one, nesting is bounded before any parser sees it, and text
            # that is not valid Unicode (lone surrogates) is a 422 on REST and GraphQL alike.
            body, problem = await self._read_json(receive)
            if problem is not None:
                await send_problem(response.send, problem, instance=path, request_id=request_id)
                return None
            receive = _replay(body, receive)
        if limited and seen.credentials is None and services.rate_limiter is not None:
            anonymous = services.settings.anonymous_rate_limit_per_minute
            result = await services.rate_limiter.hit("anonymous", seen.client, anonymous)
            scope["state"]["rate_limit"] = result
            if not result.allowed:
                refused = result.exceeded()
                _audit(services, refused, seen.client)
                await send_problem(response.send, refused, instance=path, request_id=request_id)
                return None
        # Uploads stream and enforce their own (larger) limit; raw_max_body_bytes is only a
        # backstop for anything in front of the handler that might buffer the body.
        limit = self.raw_max_body_bytes if self._is_raw(path) else self.max_body_bytes
        return receive if limit is None else self._limited(receive, limit)

    def _reject(
        self, scope: Scope, length: bytes | None, ctype: bytes | None, chunked: bytes | None
    ) -> HelplineError | None:
        path = scope["path"]
        too_large = length is not None and (
            not length.isdigit() or int(length) > self.max_body_bytes
        )
        if too_large and not self._is_raw(path):
            return PayloadTooLarge(f"The body limit is {self.max_body_bytes} bytes.")
        if scope["method"] in BODY_METHODS and path.startswith(self.json_prefixes):
            if self._is_raw(path):
                return None
            has_body = (length is not None and length != b"0") or chunked is not None
            kind = (ctype or b"").split(b";")[0].strip().lower()
            if has_body and not (kind == b"application/json" or kind.endswith(b"+json")):
                return UnsupportedMediaType("Send the body as application/json.")
        return None

    def _buffers(self, scope: Scope, length: bytes | None, chunked: bytes | None) -> bool:
        path = scope["path"]
        return (
            scope["method"] in BODY_METHODS
            and (path.startswith(self.json_prefixes) or path == "/graphql")
            and not self._is_raw(path)
            and (chunked is not None or (length is not None and length != b"0"))
        )

    async def _read_json(self, receive: Receive) -> tuple[bytes, HelplineError | None]:
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_body_bytes:
                return b"", PayloadTooLarge(f"The body limit is {self.max_body_bytes} bytes.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if json_too_deep(body):
            return b"", JsonTooDeep(f"Arrays and objects may nest at most {MAX_JSON_DEPTH} deep.")
        if may_hold_surrogates(body):  # rare: only bodies with \u escapes are decoded here
            try:
                value = json.loads(body)
            except ValueError:
                return body, None  # malformed JSON: the route answers 400 itself
            path = lone_surrogate_at(value)
            if path is not None:
                return b"", not_unicode("body", *path)
        return body, None

    def _is_raw(self, path: str) -> bool:
        """Paths that stream non-JSON bodies and enforce their own limits (uploads)."""
        return path.startswith(self.raw_body_paths)

    @staticmethod
    def _limited(receive: Receive, limit: int) -> Receive:
        seen = 0

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge(f"The body limit is {limit} bytes.")
            return message

        return wrapped

    @staticmethod
    def _log(scope: Scope, status: int, started: float, principal: Caller | None) -> None:
        route = scope.get("route")
        access_log.info(
            "request",
            method=scope["method"],
            route=getattr(route, "path", None) or "<unmatched>",
            path=scope["path"],
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            principal=principal.ident() if principal is not None else None,
        )


def _audit(services: AppServices, refused: RateLimited, ip: str) -> None:
    record_rate_limited(services.audit, refused, principal=None, ip=ip, now=services.clock())


async def _late_hit(
    services: AppServices, limiter: RateLimiter, credentials: bytes, ip: str
) -> RateLimitResult:
    """Charge credentials that were never resolved: a key this process knows pays, else the IP."""
    if credentials:
        principal = services.credentials.known(credentials)
        if principal is not None:
            default = services.settings.default_rate_limit_per_minute
            return await limiter.hit(*policy_for(principal, default))
    return await limiter.hit("anonymous", ip, services.settings.anonymous_rate_limit_per_minute)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the buffered body once, then defers to the server's."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
