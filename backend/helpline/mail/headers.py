"""Header fields of a parsed message, decoded defensively: capped sizes, RFC 2047 words and raw
8-bit bytes through the charset fallbacks, addresses, Message-IDs and dates that never raise."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from helpline.mail import charsets

MAX_HEADER_CHARS = 16_384  # of one header field's value
MAX_ADDRESSES = 500  # per address header


@dataclass(frozen=True)
class Address:
    name: str
    email: str  # lower-cased


def headers(message: Message) -> dict[str, list[str]]:
    """Lower-case name → unfolded raw values (surrogate escapes kept for later decoding)."""
    headers: dict[str, list[str]] = {}
    try:
        items = list(message.raw_items())
    except Exception:
        return headers
    for name, value in items:
        key = str(name).strip().lower()
        if not key:
            continue
        text = value if isinstance(value, str) else str(value)
        if len(text) > MAX_HEADER_CHARS and key == "references":
            # the thread's root and its latest messages matter: keep both ends
            text = text.strip()
            text = text[:1024] + " " + text[-(MAX_HEADER_CHARS - 1025) :]
        text = re.sub(r"\r?\n[ \t]", " ", text[: MAX_HEADER_CHARS * 2])[:MAX_HEADER_CHARS]
        headers.setdefault(key, []).append(text.strip())
    return headers


def first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def addresses(values: Collection[str]) -> list[Address]:
    found: list[Address] = []
    for value in values:
        text = charsets.fix_surrogates(value)
        try:
            pairs = getaddresses([text])
        except Exception:  # an unparseable address header names nobody
            pairs = []
        for name, address in pairs:
            address = address.strip().strip("<>").strip()
            local, at, domain = address.rpartition("@")
            if (
                not at
                or not local
                or not domain
                or len(address) > 320
                or any(c.isspace() for c in address)
            ):
                continue
            display = charsets.decode_header_text(name).strip().strip('"').strip()
            found.append(
                Address(
                    name=charsets.storable(display)[:200], email=charsets.storable(address.lower())
                )
            )
            if len(found) >= MAX_ADDRESSES:
                return found
    return found


def unique(addresses: list[Address]) -> list[Address]:
    seen: set[str] = set()
    out: list[Address] = []
    for address in addresses:
        if address.email not in seen:
            seen.add(address.email)
            out.append(address)
    return out


_ID = re.compile(r"<([^<>\s]{1,995})>")


def message_id(value: str) -> str | None:
    value = charsets.storable(charsets.fix_surrogates(value)).strip()
    match = _ID.search(value)
    if match:
        return match.group(1)
    bare = value.strip("<>").strip()
    return bare if bare and " " not in bare and "@" in bare and len(bare) <= 995 else None


def ids(value: str) -> list[str]:
    value = charsets.storable(charsets.fix_surrogates(value))
    seen: set[str] = set()
    ids: list[str] = []
    for found in _ID.findall(value):
        if found not in seen:
            seen.add(found)
            ids.append(found)
    return ids


def date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(charsets.fix_surrogates(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
