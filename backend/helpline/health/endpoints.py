"""Liveness and readiness probes (no authentication: they reveal nothing)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from helpline.auth.dependencies import PUBLIC
from helpline.db import UnitOfWorkRoute
from helpline.errors import DependencyUnavailable, MethodNotAllowed
from helpline.health import service
from helpline.http import problem_responses
from helpline.services import services

router = APIRouter(
    route_class=UnitOfWorkRoute, prefix="/health", tags=["health"], dependencies=[PUBLIC]
)


class Liveness(BaseModel):
    status: str = Field(description="Always `ok` while the process serves requests.")


class Readiness(BaseModel):
    status: str = Field(description="`ok` when every check passes.")
    checks: dict[str, Any] = Field(description="Result of each dependency check.")


@router.get(
    "/live",
    summary="Liveness probe",
    description="200 while the process is up; touches no dependency. Counted but never refused "
    "by the per-IP rate limit.",
    operation_id="healthLive",
    responses={405: problem_responses(MethodNotAllowed, public=True)[405]},
)
async def live() -> Liveness:
    return Liveness(status="ok")


@router.get(
    "/ready",
    summary="Readiness probe",
    description="200 when PostgreSQL answers and its schema is at this release's migration head "
    "or ahead of it (a newer release migrated first, `checks.database.ahead`), and Redis answers; "
    "503 otherwise (the body says which check failed).",
    operation_id="healthReady",
    responses={503: problem_responses(DependencyUnavailable, public=True)[503]},
)
async def ready(request: Request) -> Readiness:
    checks = await service.readiness(services(request))
    if not all(c["ok"] for c in checks.values()):
        raise DependencyUnavailable("A dependency is not ready.", checks=checks)
    return Readiness(status="ok", checks=checks)
