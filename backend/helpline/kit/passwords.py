"""Password hashing (argon2id) and a strength check. Verification runs in a worker thread so the
event loop never blocks on the deliberately slow hash."""

from __future__ import annotations

import asyncio
import re
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 256  # bounds the hashing cost an attacker can cause
COMMON = frozenset(
    {
        "password1234",
        "passwordpassword",
        "123456789012",
        "qwertyuiopasdf",
        "letmeinletmein",
        "iloveyou1234",
        "administrator",
        "welcome12345",
        "changemechangeme",
    }
)

_hasher = PasswordHasher()


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Why a password is too weak; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters")
    if len(set(password)) < 6:
        problems.append("must use at least 6 different characters")
    lowered = password.lower()
    if lowered in COMMON:
        problems.append("is a commonly used password")
    words = re.split(r"[^a-z0-9]+", f"{email.split('@')[0]} {name}".lower())
    if any(len(w) >= 3 and w in lowered for w in words):
        problems.append("must not contain your email or name")
    return problems


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with other argon2 parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("not-a-real-password-only-for-timing")


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash, verify against a dummy so timing does not tell."""
    if len(password) > MAX_LENGTH:  # never stored that long: spend the same time, then refuse
        await asyncio.to_thread(_verify, None, password[:MAX_LENGTH])
        return False
    return await asyncio.to_thread(_verify, password_hash, password)
