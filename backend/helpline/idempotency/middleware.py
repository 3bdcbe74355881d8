"""Pure-ASGI Idempotency-Key handling for every POST (inside request context and rate limits).

The key is scoped to the presented credentials (an HMAC of the API key or session cookie with
the server secret): the middleware runs before the route resolves the principal, and a key
belongs to exactly one principal this way too. Requests without credentials (e.g. login) are not
made idempotent: they would only be answered 401, and a login response must never be replayed.

The claim's completion is a before-commit step of the request's unit of work (made by the outer
middleware), so a route that commits stores its response in the same transaction; routes are
not touched.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpline.auth.keys import is_well_formed
from helpline.db.route import request_work
from helpline.errors import HelplineError
from helpline.http import send_problem
from helpline.idempotency import service
from helpline.idempotency.service import Claim
from helpline.services import AppServices

HEADER = b"idempotency-key"


def _credential(headers: dict[bytes, bytes], cookie_name: str) -> str | None:
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, value = authorization.partition(" ")
    key = value.strip() if scheme.lower() == "bearer" else ""
    key = key or headers.get(b"x-api-key", b"").decode("latin-1").strip()
    if key:
        return f"key:{key}" if is_well_formed(key) else None  # a bad key is a 401 anyway
    for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
        name, _, value = part.strip().partition("=")
        if name == cookie_name and value:
            return f"session:{value}"
    return None


STREAMED_PATHS = ("/api/v1/attachments",)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Uploads stream to content-addressed storage and must not be buffered here; a retried
        # upload stores no second blob and an unbound duplicate is collected by gc.
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"].startswith(STREAMED_PATHS)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_key = headers.get(HEADER)
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        state: AppServices = scope["app"].state.services
        settings = state.settings
        credential = _credential(headers, settings.session_cookie_name)
        try:
            key = service.check_key(raw_key.decode("latin-1"))
        except HelplineError as exc:
            await _send_problem(exc, scope, send)
            return
        if credential is None:
            await self.app(scope, receive, send)
            return
        secret = settings.secret_key.get_secret_value().encode()
        principal = "cred:" + hmac.new(secret, credential.encode(), hashlib.sha256).hexdigest()
        try:
            body = await _read_body(receive)
        except HelplineError as exc:  # e.g. the body limit, raised by the outer middleware
            await _send_problem(exc, scope, send)
            return
        fingerprint = service.fingerprint(
            scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"), body
        )
        try:
            outcome = await service.claim(
                state.db,
                principal,
                key,
                fingerprint,
                ttl_seconds=settings.idempotency_ttl_hours * 3600,
                inflight_timeout_seconds=settings.idempotency_inflight_timeout_s,
            )
        except HelplineError as exc:
            await _send_problem(exc, scope, send)
            return
        if isinstance(outcome, service.StoredResponse):
            await _replay(outcome, send)
            return
        await self._run(scope, body, send, state, outcome)

    async def _run(
        self, scope: Scope, body: bytes, send: Send, state: AppServices, claim: Claim
    ) -> None:
        sent = False

        async def replay_receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        start: Message | None = None
        chunks: list[bytes] = []
        buffered: list[Message] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            buffered.append(message)

        pending = service.Pending(claim)
        uow = request_work(scope)
        if uow is not None:  # the route stores the response in its own transaction
            uow.before_commit(pending.store_before_commit)
        try:
            await self.app(scope, replay_receive, capture)
        except BaseException:
            if not pending.committed:
                await service.release(state.db, claim)
            raise
        if start is None:
            if not pending.committed:
                await service.release(state.db, claim)
            return
        if not pending.committed:  # nothing committed with the response: store it now
            response_headers = {
                k.decode("latin-1").lower(): v.decode("latin-1")
                for k, v in start.get("headers", [])
            }
            # Stored before the client sees the response, so an immediate retry gets the replay.
            await service.finish(
                state.db, claim, start["status"], response_headers, b"".join(chunks)
            )
        for message in buffered:
            await send(message)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        elif message["type"] == "http.disconnect":
            break
    return b"".join(chunks)


async def _replay(stored: service.StoredResponse, send: Send) -> None:
    headers = [(k.encode(), v.encode()) for k, v in stored.headers.items()]
    headers += [
        (b"idempotent-replayed", b"true"),
        (b"content-length", str(len(stored.body)).encode()),
    ]
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})


async def _send_problem(exc: HelplineError, scope: Scope, send: Send) -> None:
    request_id = scope.get("state", {}).get("request_id")
    await send_problem(send, exc, instance=scope["path"], request_id=request_id)
