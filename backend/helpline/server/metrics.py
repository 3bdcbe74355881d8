"""GET /metrics: this process's counters in the Prometheus text format (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from helpline.auth.dependencies import CurrentPrincipal
from helpline.auth.principal import Principal
from helpline.db import SessionDep, UnitOfWorkRoute
from helpline.errors import PermissionDenied
from helpline.http import problem_responses
from helpline.jobs.service import refresh_metrics
from helpline.kit.metrics import CONTENT_TYPE, REGISTRY

router = APIRouter(route_class=UnitOfWorkRoute, tags=["health"])


async def admin_only(principal: CurrentPrincipal) -> Principal:
    """Metrics reveal traffic and dependency state: admins only (scrape with an admin key)."""
    if not principal.is_admin:
        raise PermissionDenied("Metrics are for admins.")
    return principal


admin_only.required_permission = "admin"  # type: ignore[attr-defined]  # read by the route audit


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Cache hits, misses and errors, the Redis circuit breaker's state and "
    "idempotency outcomes of the answering process, and (from the database) background jobs by "
    "queue and status, webhook deliveries by status and disabled webhook endpoints, in the "
    "Prometheus text format (0.0.4). "
    "Admins only.",
    operation_id="getMetrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text exposition."},
        **problem_responses(PermissionDenied),
    },
)
async def metrics(
    session: SessionDep, _admin: Annotated[Principal, Depends(admin_only)]
) -> Response:
    await refresh_metrics(session)
    return Response(REGISTRY.render(), media_type=CONTENT_TYPE)
