"""Dependency checks for the readiness probe."""

from __future__ import annotations

import asyncio
from typing import Any

from helpline.health import repository
from helpline.services import AppServices


async def readiness(state: AppServices) -> dict[str, dict[str, Any]]:
    """Check the database (reachable, at or past this release's migration head) and Redis.

    A database *ahead* of the head (a revision this release does not ship) is ready: during a
    rolling deploy the next release's expand-only migration runs first, and the old pods must
    keep serving. A database *behind* it (a known older revision, or none) is not.
    """
    checks: dict[str, dict[str, Any]] = {}
    try:
        async with asyncio.timeout(2):
            revision = await repository.current_revision(state.db.engine)
        known = state.known_revisions
        ahead = revision is not None and revision != state.migration_head and revision not in known
        checks["database"] = {
            "ok": revision == state.migration_head or ahead,
            "revision": revision,
            "head": state.migration_head,
        }
        if ahead:
            checks["database"]["ahead"] = True
    except Exception as exc:  # any failure means "not ready"; the type is enough detail
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    try:
        async with asyncio.timeout(1):
            await state.redis.ping()
        checks["redis"] = {"ok": True, "embedded": state.settings.uses_embedded_redis}
    except Exception as exc:
        checks["redis"] = {"ok": False, "error": type(exc).__name__}
    return checks
