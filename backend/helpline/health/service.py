"""Dependency checks for the readiness probe."""

from __future__ import annotations

import asyncio
from typing import Any

from helpline.health import repository


async def readiness(state: Any) -> dict[str, dict[str, Any]]:
    """Check the database (reachable, at the migration head) and Redis."""
    checks: dict[str, dict[str, Any]] = {}
    try:
        async with asyncio.timeout(2):
            revision = await repository.current_revision(state.db.engine)
        checks["database"] = {
            "ok": revision == state.migration_head,
            "revision": revision,
            "head": state.migration_head,
        }
    except Exception as exc:  # any failure means "not ready"; the type is enough detail
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    try:
        async with asyncio.timeout(1):
            await state.redis.ping()
        checks["redis"] = {"ok": True, "embedded": state.settings.uses_embedded_redis}
    except Exception as exc:
        checks["redis"] = {"ok": False, "error": type(exc).__name__}
    return checks
