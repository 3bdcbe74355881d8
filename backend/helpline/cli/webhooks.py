"""`helpline webhooks`: manage webhook endpoints from the command line (acts as an admin)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.principal import SYSTEM_PRINCIPAL
from helpline.cli.running import (
    echo_secret_line,
    fail,
    one_line_errors,
    run_in_transaction,
    settings_or_exit,
)
from helpline.kit.clock import utcnow
from helpline.models import WebhookEndpoint
from helpline.models.event import EventType
from helpline.webhook import service
from helpline.webhook.schemas import WebhookCreate, WebhookUpdate

app = typer.Typer(help="Webhook endpoints (Standard Webhooks).", no_args_is_help=True)


@app.command("create")
@one_line_errors
def create(
    url: Annotated[str, typer.Argument(help="Target URL (must resolve to a public address).")],
    event_type: Annotated[
        list[EventType] | None,
        typer.Option("--event-type", help="Event type to deliver (repeatable; default: all)."),
    ] = None,
    description: Annotated[str, typer.Option(help="Free text.")] = "",
) -> None:
    """Create an endpoint; its id goes to stderr, the signing secret alone to stdout, once."""
    settings = settings_or_exit()
    try:
        data = WebhookCreate.model_validate(
            {"url": url, "event_types": event_type or [], "description": description}
        )
    except ValidationError as exc:
        raise fail(f"invalid webhook: {exc.errors()[0]['msg']}") from exc

    async def work(session: AsyncSession) -> tuple[WebhookEndpoint, str]:
        return await service.create_endpoint(
            session, SYSTEM_PRINCIPAL, data, allowed_hosts=settings.webhook_allowed_hosts
        )

    row, secret = run_in_transaction(settings, "webhooks create", work)
    typer.echo(f"created webhook {row.id}", err=True)
    echo_secret_line(secret)


@app.command("list")
@one_line_errors
def list_webhooks() -> None:
    """Endpoints with their health (never their secrets)."""
    settings = settings_or_exit()

    async def work(session: AsyncSession) -> list[WebhookEndpoint]:
        return await service.list_endpoints(session, SYSTEM_PRINCIPAL)

    rows = run_in_transaction(settings, "webhooks list", work)
    table = Table("id", "url", "types", "enabled", "failures", "disabled reason")
    for row in rows:
        table.add_row(
            str(row.id),
            row.url,
            ",".join(row.event_types) or "all",
            "yes" if row.enabled else "no",
            str(row.consecutive_failures),
            row.disabled_reason or "",
        )
    Console(width=200).print(table)


@app.command("rotate")
@one_line_errors
def rotate(
    endpoint_id: Annotated[uuid.UUID, typer.Argument(help="Endpoint id.")],
    overlap_hours: Annotated[
        int | None,
        typer.Option(min=0, max=168, help="Old secret keeps signing (default: setting)."),
    ] = None,
) -> None:
    """New signing secret (alone on stdout); the old one also signs during the overlap."""
    settings = settings_or_exit()
    hours = settings.webhook_secret_overlap_hours if overlap_hours is None else overlap_hours

    async def work(session: AsyncSession) -> str:
        _, secret = await service.rotate_secret(
            session, SYSTEM_PRINCIPAL, endpoint_id, now=utcnow(), overlap=timedelta(hours=hours)
        )
        return secret

    echo_secret_line(run_in_transaction(settings, "webhooks rotate", work))


@app.command("disable")
@one_line_errors
def disable(
    endpoint_id: Annotated[uuid.UUID, typer.Argument(help="Endpoint id.")],
    enable: Annotated[bool, typer.Option("--enable", help="Re-enable instead.")] = False,
) -> None:
    """Stop deliveries to an endpoint (pending ones wait), or resume them with --enable."""
    settings = settings_or_exit()

    async def work(session: AsyncSession) -> WebhookEndpoint:
        return await service.update_endpoint(
            session,
            SYSTEM_PRINCIPAL,
            endpoint_id,
            WebhookUpdate(enabled=enable),
            now=utcnow(),
            allowed_hosts=settings.webhook_allowed_hosts,
        )

    row = run_in_transaction(settings, "webhooks disable", work)
    typer.echo(f"webhook {row.id} {'enabled' if row.enabled else 'disabled'}")
