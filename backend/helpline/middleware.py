"""The one pure-ASGI middleware: request id, client address, body limits, anonymous rate limit,
rate-limit headers, the request's unit of work and the access log — one pass over the headers
per request.

Every other concern lives in the route's dependencies. Kept as one layer on purpose: each ASGI
layer costs a coroutine frame and a ``send`` wrapper per message on every request.
"""

from __future__ import annotations

import ipaddress
import json
import random
import re
import time
from collections.abc import Iterable

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
from helpline.services import AppServices
from helpline.unicode_input import not_unicode

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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Trusted proxy addresses or CIDR ranges (``*`` is refused: it would trust everyone)."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def forwarded_client(
    peer: str, forwarded_for: bytes | None, forwarded: bytes | None, trusted: tuple[Network, ...]
) -> str:
    """The client address: the peer, unless the peer is a trusted proxy — then the right-most
    address in ``X-Forwarded-For`` (or ``Forwarded: for=``) that is not itself a trusted proxy."""
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops: list[str] = []
    if forwarded_for:
        hops = [h.strip() for h in forwarded_for.decode("latin-1").split(",")]
    elif forwarded:
        for element in forwarded.decode("latin-1").split(","):
            for pair in element.split(";"):
                name, _, value = pair.strip().partition("=")
                if name.lower() == "for":
                    hops.append(value.strip('"').removeprefix("[").split("]")[0])
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return peer  # garbage in the header: trust the socket, not the header
        if not _is_trusted(address, trusted):
            return address
    return peer


def _address(text: str) -> str | None:
    text = text.strip()
    if text.count(":") == 1:  # IPv4 with a port
        text = text.split(":")[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


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
        request_id = credentials = length = ctype = chunked = xff = fwd = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")
            elif name in (b"authorization", b"x-api-key"):
                credentials = value
            elif name == b"cookie":
                if credentials is None and self.cookie_marker in value:
                    credentials = b""
            elif name == b"content-length":
                length = value
            elif name == b"content-type":
                ctype = value
            elif name == b"transfer-encoding":
                chunked = value
            elif name == b"x-forwarded-for":
                xff = value
            elif name == b"forwarded":
                fwd = value
        if request_id is None or not REQUEST_ID_RE.match(request_id):
            # Unique, not secret: no system call per request (uuid4 reads os.urandom).
            request_id = f"{random.getrandbits(128):032x}"  # nosec B311
        client = scope.get("client")
        peer = str(client[0]) if client else "unknown"
        ip = forwarded_client(peer, xff, fwd, self.trusted_proxies)
        if ip != peer:
            scope["client"] = (ip, 0)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        app_state: AppServices = scope["app"].state.services
        uow = app_state.db.work(identity=RequestIdentity(request_id, ip), cache=app_state.cache)
        attach_work(scope, uow)
        limiter: RateLimiter | None = app_state.rate_limiter
        path: str = scope["path"]
        # Probes and the web interface's static files: never limited, never counted.
        unlimited = path.startswith(PROBE_PREFIX) or not path.startswith(LIMITED_PREFIXES)
        status = 500
        replaced = False
        rid_header = (b"x-request-id", request_id.encode())

        async def send_wrapper(message: Message) -> None:
            nonlocal status, replaced
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), rid_header]
                if limiter is not None and not unlimited:
                    result = state.get("rate_limit")
                    if result is None and credentials is not None:
                        # Credentials that were never resolved (bad key, no such route, a body
                        # that failed before authentication): a known key pays, else the IP.
                        result = await self._late_hit(app_state, limiter, credentials, ip)
                        if not result.allowed and result.policy == "anonymous":
                            replaced = True
                            refused = result.exceeded()
                            self._audit(app_state, refused, ip)
                            await send_problem(send, refused, instance=path, request_id=request_id)
                            return
                    if result is not None and not any(k == b"ratelimit-policy" for k, _ in headers):
                        headers.extend(result.header_pairs())
                message["headers"] = headers
            elif replaced:
                return
            await send(message)

        # Every log line written while serving this request carries its id.
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            rejection = self._reject(scope, length, ctype, chunked)
            if rejection is not None:
                await send_problem(send_wrapper, rejection, instance=path, request_id=request_id)
                return
            if self._buffers(scope, length, chunked):
                # Read the whole (bounded) JSON body first: a chunked body over the limit is a 413
                # like a declared one, nesting is bounded before any parser sees it, and text
                # that is not valid Unicode (lone surrogates) is a 422 on REST and GraphQL alike.
                body, problem = await self._read_json(receive)
                if problem is not None:
                    await send_problem(send_wrapper, problem, instance=path, request_id=request_id)
                    return
                receive = _replay(body, receive)
            if limiter is not None and credentials is None and not unlimited:
                anonymous = app_state.settings.anonymous_rate_limit_per_minute
                result = await limiter.hit("anonymous", ip, anonymous)
                state["rate_limit"] = result
                if not result.allowed:
                    refused = result.exceeded()
                    self._audit(app_state, refused, ip)
                    await send_problem(send_wrapper, refused, instance=path, request_id=request_id)
                    return
            # Uploads stream and enforce their own (larger) limit; raw_max_body_bytes is only a
            # backstop for anything in front of the handler that might buffer the body.
            limit = self.raw_max_body_bytes if self._is_raw(path) else self.max_body_bytes
            await self.app(
                scope, receive if limit is None else self._limited(receive, limit), send_wrapper
            )
        finally:
            if self.access_log_enabled:
                self._log(scope, status, started, uow.principal)
            structlog.contextvars.unbind_contextvars("request_id")

    @staticmethod
    def _audit(app_state: AppServices, refused: RateLimited, ip: str) -> None:
        record_rate_limited(app_state.audit, refused, principal=None, ip=ip, now=app_state.clock())

    async def _late_hit(
        self, app_state: AppServices, limiter: RateLimiter, credentials: bytes, ip: str
    ) -> RateLimitResult:
        if credentials:
            principal = app_state.credentials.known(credentials)
            if principal is not None:
                default = app_state.settings.default_rate_limit_per_minute
                return await limiter.hit(*policy_for(principal, default))
        return await limiter.hit(
            "anonymous", ip, app_state.settings.anonymous_rate_limit_per_minute
        )

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
