"""HTTP helpers shared by endpoints: OpenAPI problem responses, ETags, preconditions."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import Response

from helpline.errors import (
    PROBLEM_CONTENT_TYPE,
    ApiKeyExpired,
    BadRequest,
    Conflict,
    CsrfTokenInvalid,
    DependencyUnavailable,
    HelplineError,
    IdempotencyKeyInFlight,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    JsonTooDeep,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    PreconditionFailed,
    RangeNotSatisfiable,
    RateLimited,
    SessionExpired,
    Unauthenticated,
    UnsupportedMediaType,
    ValidationFailed,
)


class ValidationErrorItem(BaseModel):
    loc: list[str | int] = Field(
        description="Where the problem is: body/query/path/header + field."
    )
    msg: str = Field(description="What is wrong.")
    type: str = Field(description="Machine-readable error type.")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="Stable problem type URI, `/problems/<slug>`.")
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(description="HTTP status code.")
    detail: str = Field(description="Explanation of this occurrence.")
    instance: str = Field(description="The request path.")
    request_id: str | None = Field(description="Id of the request, for logs and audit.")
    errors: list[ValidationErrorItem] | None = Field(
        None, description="Per-field errors (validation problems only)."
    )


_DESCRIPTIONS = {
    400: "Malformed request.",
    401: "Missing, malformed, unknown, expired or revoked credentials.",
    403: "The caller lacks the role or scope for this action.",
    404: "No such resource, or it is not visible to the caller.",
    405: "The route does not accept this method.",
    409: "Conflicts with the resource's current state.",
    412: "The If-Match version is stale.",
    413: "The request body is too large.",
    415: "The request body must be JSON.",
    416: "The range is not satisfiable.",
    422: "Invalid input; `errors[]` names each field.",
    429: "Rate limit exceeded.",
    503: "A dependency is unavailable.",
}

Documented = type[HelplineError] | int

# The generic problem of each status: what an operation documents when it names a bare status.
GENERIC: dict[int, type[HelplineError]] = {
    400: BadRequest,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    416: RangeNotSatisfiable,
    422: ValidationFailed,
    429: RateLimited,
    503: DependencyUnavailable,
}
# What any route may answer: malformed input, invalid fields, its rate limit, a dependency down.
EVERY_ROUTE: tuple[type[HelplineError], ...] = (
    BadRequest,
    ValidationFailed,
    RateLimited,
    DependencyUnavailable,
)
# Routes that need credentials.
AUTHENTICATED: tuple[type[HelplineError], ...] = (Unauthenticated, ApiKeyExpired, SessionExpired)
# Unsafe methods with credentials: a cookie session must echo its CSRF token.
UNSAFE: tuple[type[HelplineError], ...] = (CsrfTokenInvalid,)
# Requests with a JSON body (the request middleware's checks).
JSON_BODY: tuple[type[HelplineError], ...] = (JsonTooDeep, PayloadTooLarge, UnsupportedMediaType)
# Authenticated POSTs: every one takes an Idempotency-Key.
IDEMPOTENT: tuple[type[HelplineError], ...] = (
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    IdempotencyKeyInFlight,
)


def problem_responses(
    *documented: Documented, public: bool = False
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the problems *this operation* can return, each with an example.

    ``documented`` names the operation's own problems (classes; a bare status stands for that
    status's generic problem); added to them is what every route may answer (``EVERY_ROUTE``)
    and, unless the route is ``public``, the authentication problems.
    """
    classes: dict[str, type[HelplineError]] = {}
    for item in (*EVERY_ROUTE, *(() if public else AUTHENTICATED), *documented):
        cls = GENERIC[item] if isinstance(item, int) else item
        classes.setdefault(cls.slug, cls)
    by_status: dict[int, list[type[HelplineError]]] = {}
    for cls in sorted(classes.values(), key=lambda c: (c.status, c.slug)):
        by_status.setdefault(cls.status, []).append(cls)
    out: dict[int | str, dict[str, Any]] = {}
    for status, members in sorted(by_status.items()):
        examples = {
            cls.slug: {
                "summary": cls.title,
                "value": {
                    "type": cls.type_uri(),
                    "title": cls.title,
                    "status": status,
                    "detail": cls.description,
                    "instance": "/api/v1/tickets/0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b10",
                    "request_id": "4f1c2d0e9a8b4c7d",
                },
            }
            for cls in members
        }
        out[status] = {
            "model": Problem,
            "description": _DESCRIPTIONS.get(status, "Error."),
            "content": {PROBLEM_CONTENT_TYPE: {"examples": examples}},
        }
    return out


def etag_for_version(version: int) -> str:
    return f'"{version}"'


# The version, optionally with the digest of a staff view's `sla` block (`"3.1a2b3c4d"`).
IF_MATCH_PATTERN = r'^\s*(\*|(W/)?"?[0-9]{1,10}(\.[0-9a-f]{8})?"?)\s*$'


def parse_if_match(value: str | None) -> int | None:
    """The version an If-Match header names (`"3"`, `W/"3"` or `3`); None when absent or `*`."""
    if value is None or value.strip() == "*":
        return None
    raw = value.strip().removeprefix("W/").strip('"').split(".", 1)[0]
    if not raw.isdigit() or len(raw) > 10:
        raise BadRequest('If-Match must be an ETag returned by this API, e.g. "3".')
    return int(raw)


def if_none_match_hits(header: str | None, etag: str) -> bool:
    if header is None:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags  # weak comparison (RFC 9110 13.1.2)


class NotModified(Exception):
    """Raised by a conditional GET whose ETag matches; rendered as 304 without a body."""

    def __init__(self, etag: str) -> None:
        super().__init__(etag)
        self.etag = etag


def problem_json_bytes(exc: HelplineError, *, instance: str, request_id: str | None) -> bytes:
    return json.dumps(
        exc.to_problem(instance=instance, request_id=request_id), separators=(",", ":"), default=str
    ).encode()


def json_response(
    model: BaseModel, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A model serialized once, straight to bytes (the route declares ``response_model`` for the
    OpenAPI document; FastAPI then passes the response through without validating it again)."""
    return Response(
        model.model_dump_json().encode(),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


async def send_problem(
    send: Any, exc: HelplineError, *, instance: str, request_id: str | None
) -> None:
    """Answer with ``exc`` as problem+json straight from ASGI middleware (before any route)."""
    body = problem_json_bytes(exc, instance=instance, request_id=request_id)
    headers = [
        (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in exc.headers.items()),
    ]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
