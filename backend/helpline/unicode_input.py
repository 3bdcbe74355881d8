"""Text that is not valid Unicode is a 422 on every transport (REST and GraphQL alike).

One check at the depth where JSON is decoded: an app-wide dependency inspects every JSON request
body — REST routes and ``/graphql`` alike (its variables and the document text). A lone
surrogate *escape* inside a GraphQL string literal never gets this far: graphql-core's lexer
refuses it as a syntax error (400 ``bad-request``, like every other malformed document).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from helpline.errors import ValidationFailed
from helpline.kit.unicode import lone_surrogate_at, may_hold_surrogates

DETAIL = "Text must be valid Unicode: a lone UTF-16 surrogate (e.g. \\udc00) is not allowed."
BODYLESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


def not_unicode(*loc: str | int) -> ValidationFailed:
    return ValidationFailed(
        DETAIL,
        errors=[
            {
                # an offending object key is named with its surrogate escaped, not echoed
                "loc": [str(p).encode("utf-8", "backslashreplace").decode() for p in loc],
                "msg": "lone UTF-16 surrogate",
                "type": "string_unicode",
            }
        ],
    )


def reject_lone_surrogates(value: Any, *loc: str | int) -> None:
    """422 when a decoded JSON value holds a lone surrogate anywhere (strings and keys)."""
    path = lone_surrogate_at(value)
    if path is not None:
        raise not_unicode(*loc, *path)


async def require_unicode_json(request: Request) -> None:
    """App-wide dependency: a JSON body must decode to valid Unicode text (else 422)."""
    if request.method in BODYLESS or "json" not in request.headers.get("content-type", ""):
        return
    body = await request.body()
    if not may_hold_surrogates(body):
        return
    try:
        value = await request.json()  # already decoded (and cached) for REST routes
    except ValueError:
        return  # malformed JSON: the route answers 400 itself
    reject_lone_surrogates(value, "body")
