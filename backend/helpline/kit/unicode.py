"""Lone UTF-16 surrogates in decoded text: strings that cannot be encoded as UTF-8.

JSON may spell them as ``\\udc00`` escapes (and Python's decoder lets raw CESU-8 bytes through as
well); a valid pair decodes to one character, so any surrogate code point left in a decoded
string is a lone one. PostgreSQL, argon2 and every UTF-8 writer refuse such strings.
"""

from __future__ import annotations

import re
from typing import Any

SURROGATE = re.compile("[\ud800-\udfff]")
# Bidirectional controls (embeddings, overrides, isolates, marks): they reorder what is shown,
# e.g. U+202E turns "invoice\u202egpj.exe" into what reads as "invoiceexe.jpg".
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def may_hold_surrogates(raw: bytes | str) -> bool:
    """A cheap pre-check of JSON text; False means no decoded string can hold a surrogate."""
    if isinstance(raw, str):
        return "\\u" in raw or SURROGATE.search(raw) is not None
    return b"\\u" in raw or b"\xed" in raw


def lone_surrogate_at(value: Any) -> tuple[str | int, ...] | None:
    """The path to the first string or object key holding a surrogate in decoded JSON, or None."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if SURROGATE.search(item):
                return path
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and SURROGATE.search(key):
                    return (*path, key)
                stack.append(((*path, key), child))
        elif isinstance(item, list):
            stack.extend(((*path, i), child) for i, child in enumerate(item))
    return None
