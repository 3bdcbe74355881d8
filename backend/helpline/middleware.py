"""Pure-ASGI middleware: request id, access log, body size limit, JSON content type."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpline.errors import HelplineError, PayloadTooLarge, UnsupportedMediaType
from helpline.http import problem_json_bytes

access_log = structlog.get_logger("helpline.access")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UNSAFE_METHODS = {"POST", "PUT", "PATCH"}


class RequestContextMiddleware:
    """Assigns the request id, enforces body limits and content type, writes the access log."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        json_prefixes: tuple[str, ...] = ("/api/",),
        raw_body_paths: tuple[str, ...] = (),
        raw_max_body_bytes: int | None = None,
        access_log_enabled: bool = True,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.json_prefixes = json_prefixes
        self.raw_body_paths = raw_body_paths
        self.raw_max_body_bytes = raw_max_body_bytes
        self.access_log_enabled = access_log_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope["headers"])
        supplied = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = supplied if REQUEST_ID_RE.match(supplied) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status_holder = [500]
        rid_header = (b"x-request-id", request_id.encode())

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        # Every log line written while serving this request carries its id.
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            rejection = self._reject(scope, headers)
            if rejection is not None:
                await self._send_problem(rejection, scope, request_id, send_wrapper)
                return
            # Uploads stream and enforce their own (larger) limit; raw_max_body_bytes is only a
            # backstop for anything in front of the handler that might buffer the body.
            limit = self.raw_max_body_bytes if self._is_raw(scope["path"]) else self.max_body_bytes
            await self.app(
                scope, receive if limit is None else self._limited(receive, limit), send_wrapper
            )
        finally:
            if self.access_log_enabled:
                self._log(scope, status_holder[0], started)
            structlog.contextvars.unbind_contextvars("request_id")

    def _reject(self, scope: Scope, headers: dict[bytes, bytes]) -> HelplineError | None:
        length = headers.get(b"content-length")
        too_large = length is not None and (
            not length.isdigit() or int(length) > self.max_body_bytes
        )
        if too_large and not self._is_raw(scope["path"]):
            return PayloadTooLarge(f"The body limit is {self.max_body_bytes} bytes.")
        if scope["method"] in UNSAFE_METHODS and scope["path"].startswith(self.json_prefixes):
            if self._is_raw(scope["path"]):
                return None
            has_body = (length is not None and length != b"0") or b"transfer-encoding" in headers
            ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if has_body and not (ctype == b"application/json" or ctype.endswith(b"+json")):
                return UnsupportedMediaType("Send the body as application/json.")
        return None

    def _is_raw(self, path: str) -> bool:
        """Paths that stream non-JSON bodies and enforce their own limits (uploads)."""
        return any(path.startswith(p) for p in self.raw_body_paths)

    def _limited(self, receive: Receive, limit: int) -> Receive:
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
    async def _send_problem(exc: HelplineError, scope: Scope, request_id: str, send: Send) -> None:
        body = problem_json_bytes(exc, instance=scope["path"], request_id=request_id)
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": exc.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _log(scope: Scope, status: int, started: float) -> None:
        route = scope.get("route")
        principal: Any = scope.get("state", {}).get("principal")
        access_log.info(
            "request",
            method=scope["method"],
            route=getattr(route, "path", None) or "<unmatched>",
            path=scope["path"],
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            principal=principal.ident() if principal is not None else None,
        )
