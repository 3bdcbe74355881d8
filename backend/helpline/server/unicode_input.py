"""Text that is not valid Unicode is a 422 on every transport (REST and GraphQL alike).

One check before JSON reaches any route: the request middleware
(``helpline.server.middleware``), which
already reads every JSON body to bound its size and nesting, decodes the rare body that holds a
``\\u`` escape and refuses lone surrogates — REST routes and ``/graphql`` alike (its variables and
the document text). A lone
surrogate *escape* inside a GraphQL string literal never gets this far: graphql-core's lexer
refuses it as a syntax error (400 ``bad-request``, like every other malformed document).
"""

from __future__ import annotations

from typing import Any

from helpline.errors import ValidationFailed
from helpline.kit.unicode import lone_surrogate_at

DETAIL = "Text must be valid Unicode: a lone UTF-16 surrogate (e.g. \\udc00) is not allowed."


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
