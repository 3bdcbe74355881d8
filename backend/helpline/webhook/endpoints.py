"""REST endpoints for webhook endpoints (admins). Thin handlers over the service."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from helpline.auth.dependencies import require
from helpline.auth.permissions import Scope
from helpline.auth.principal import Principal
from helpline.db import SessionDep, UnitOfWorkRoute
from helpline.errors import PermissionDenied, WebhookNotFound, WebhookTargetRefused
from helpline.http import IDEMPOTENT, JSON_BODY, UNSAFE, problem_responses
from helpline.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from helpline.services import services
from helpline.webhook import service
from helpline.webhook.schemas import (
    DeliveryRead,
    WebhookCreate,
    WebhookRead,
    WebhookRotate,
    WebhookUpdate,
    WebhookWithSecret,
)

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/webhooks", tags=["webhooks"])


Admin = Annotated[Principal, require(Scope.webhooks_write)]
EndpointId = Annotated[uuid.UUID, Path(description="Webhook endpoint id.")]


def _with_secret(row: object, secret: str) -> WebhookWithSecret:
    return WebhookWithSecret(**WebhookRead.model_validate(row).model_dump(), secret=secret)


@router.post(
    "",
    status_code=201,
    summary="Create a webhook endpoint",
    description="Registers a receiver for change-feed events, signed per Standard Webhooks. "
    "The response carries the signing `secret` — the only time it is shown. The URL must "
    "resolve to public addresses (see `HELPLINE_WEBHOOK_ALLOWED_HOSTS`).",
    operation_id="createWebhook",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, *JSON_BODY, *IDEMPOTENT, WebhookTargetRefused
    ),
)
async def create_webhook(
    request: Request, session: SessionDep, principal: Admin, body: WebhookCreate
) -> WebhookWithSecret:
    row, secret = await service.create_endpoint(
        session,
        principal,
        body,
        allowed_hosts=services(request).settings.webhook_allowed_hosts,
    )
    return _with_secret(row, secret)


@router.get(
    "",
    summary="List webhook endpoints",
    description="Every endpoint with its health: `enabled`, `disabled_reason`, failure streak.",
    operation_id="listWebhooks",
    responses=problem_responses(PermissionDenied),
)
async def list_webhooks(session: SessionDep, principal: Admin) -> list[WebhookRead]:
    rows = await service.list_endpoints(session, principal)
    return [WebhookRead.model_validate(r) for r in rows]


@router.get(
    "/{endpoint_id}",
    summary="Get a webhook endpoint",
    description="One endpoint (never its secret).",
    operation_id="getWebhook",
    responses=problem_responses(PermissionDenied, WebhookNotFound),
)
async def get_webhook(
    session: SessionDep, principal: Admin, endpoint_id: EndpointId
) -> WebhookRead:
    return WebhookRead.model_validate(await service.get_endpoint(session, principal, endpoint_id))


@router.patch(
    "/{endpoint_id}",
    summary="Update, disable or re-enable a webhook endpoint",
    description="`enabled: false` stops deliveries (pending ones wait); `enabled: true` resumes "
    "them and clears the failure streak and `disabled_reason`.",
    operation_id="updateWebhook",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, *JSON_BODY, WebhookNotFound, WebhookTargetRefused
    ),
)
async def update_webhook(
    request: Request,
    session: SessionDep,
    principal: Admin,
    endpoint_id: EndpointId,
    body: WebhookUpdate,
) -> WebhookRead:
    row = await service.update_endpoint(
        session,
        principal,
        endpoint_id,
        body,
        now=services(request).clock(),
        allowed_hosts=services(request).settings.webhook_allowed_hosts,
    )
    return WebhookRead.model_validate(row)


@router.delete(
    "/{endpoint_id}",
    status_code=204,
    summary="Delete a webhook endpoint",
    description="Removes the endpoint and its delivery log.",
    operation_id="deleteWebhook",
    responses=problem_responses(PermissionDenied, *UNSAFE, WebhookNotFound),
)
async def delete_webhook(
    session: SessionDep, principal: Admin, endpoint_id: EndpointId
) -> Response:
    await service.delete_endpoint(session, principal, endpoint_id)
    return Response(status_code=204)


@router.post(
    "/{endpoint_id}/rotate",
    summary="Rotate the signing secret",
    description="Returns a new secret (shown once). During the overlap window deliveries carry "
    "two signatures, one per secret, so receivers can switch without losing messages.",
    operation_id="rotateWebhookSecret",
    responses=problem_responses(
        PermissionDenied, *UNSAFE, *JSON_BODY, *IDEMPOTENT, WebhookNotFound
    ),
)
async def rotate_webhook_secret(
    request: Request,
    session: SessionDep,
    principal: Admin,
    endpoint_id: EndpointId,
    body: WebhookRotate | None = None,
) -> WebhookWithSecret:
    settings = services(request).settings
    seconds = (
        body.overlap_seconds
        if body and body.overlap_seconds is not None
        else settings.webhook_secret_overlap_hours * 3600
    )
    row, secret = await service.rotate_secret(
        session,
        principal,
        endpoint_id,
        now=services(request).clock(),
        overlap=timedelta(seconds=seconds),
    )
    return _with_secret(row, secret)


@router.get(
    "/{endpoint_id}/deliveries",
    summary="Delivery log",
    description="The endpoint's deliveries, newest first: status, attempts, HTTP status, "
    "latency, response excerpt and last error. Page with `before=<id of the last row>`.",
    operation_id="listWebhookDeliveries",
    responses=problem_responses(PermissionDenied, WebhookNotFound),
)
async def list_webhook_deliveries(
    session: SessionDep,
    principal: Admin,
    endpoint_id: EndpointId,
    before: Annotated[
        int | None, Query(ge=1, description="Only deliveries with a smaller id.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = DEFAULT_LIMIT,
) -> list[DeliveryRead]:
    return await service.list_deliveries(
        session, principal, endpoint_id, before_id=before, limit=limit
    )


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    summary="Redeliver",
    description="Queues the delivery again (same `webhook-id`, in its ticket's order).",
    operation_id="redeliverWebhook",
    responses=problem_responses(PermissionDenied, *UNSAFE, *IDEMPOTENT, WebhookNotFound),
)
async def redeliver_webhook(
    request: Request,
    session: SessionDep,
    principal: Admin,
    endpoint_id: EndpointId,
    delivery_id: Annotated[int, Path(description="Delivery id.")],
) -> Response:
    await service.redeliver(
        session, principal, endpoint_id, delivery_id, now=services(request).clock()
    )
    return Response(status_code=202)
