"""API key format: ``hl_`` + 40 base62 secret characters + 6-character CRC32 checksum (base62).

The checksum lets a malformed or mistyped key be rejected before any database or Redis call.
Only an HMAC-SHA256 of the whole key under a server pepper is stored, plus a display prefix.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import zlib

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
KEY_PREFIX = "hl_"
SECRET_LENGTH = 40
CHECKSUM_LENGTH = 6
DISPLAY_PREFIX_LENGTH = len(KEY_PREFIX) + 8
KEY_PATTERN = re.compile(rf"^hl_[0-9A-Za-z]{{{SECRET_LENGTH + CHECKSUM_LENGTH}}}$")


def _base62(number: int, width: int) -> str:
    chars = []
    while number:
        number, rem = divmod(number, 62)
        chars.append(ALPHABET[rem])
    return "".join(reversed(chars)).rjust(width, "0")


def checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


def generate_key() -> str:
    """A new random API key (shown once, never stored)."""
    body = KEY_PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(SECRET_LENGTH))
    return body + checksum(body)


def is_well_formed(key: str) -> bool:
    """Format and checksum check: pure, no I/O."""
    if not KEY_PATTERN.match(key):
        return False
    body, check = key[:-CHECKSUM_LENGTH], key[-CHECKSUM_LENGTH:]
    return hmac.compare_digest(checksum(body), check)


def hash_key(pepper: bytes, key: str) -> bytes:
    return hmac.new(pepper, key.encode(), hashlib.sha256).digest()


def display_prefix(key: str) -> str:
    return key[:DISPLAY_PREFIX_LENGTH]
