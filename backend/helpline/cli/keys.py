"""`helpline keys`: API keys from the command line."""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.account import service as account_service
from helpline.account.schemas import MAX_GRACE_SECONDS
from helpline.auth import credentials, keys
from helpline.auth.principal import SYSTEM_PRINCIPAL
from helpline.cli.running import (
    echo_secret_line,
    one_line_errors,
    run_in_transaction,
    run_in_unit_of_work,
    settings_or_exit,
)
from helpline.db import UnitOfWork
from helpline.errors import Unauthenticated, UserNotFound
from helpline.kit.clock import utcnow
from helpline.models.enums import Role
from helpline.user import service as user_service

app = typer.Typer(help="Manage API keys.", no_args_is_help=True)


@app.command("create")
@one_line_errors
def create(
    email: Annotated[str, typer.Option(help="Owner's email.")],
    name: Annotated[str, typer.Option(help="Label of the key.")] = "cli",
    scope: Annotated[
        list[str] | None,
        typer.Option(help="Scope to grant (repeatable; default: all the role allows)."),
    ] = None,
    rate_limit: Annotated[int | None, typer.Option(min=1, help="Requests per minute.")] = None,
    expires_at: Annotated[
        datetime | None, typer.Option(help="Expiry (UTC, ISO 8601; must be in the future).")
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Revoke the owner's other live keys of this name (one key per name, e.g. the "
            "development key of scripts/dev).",
        ),
    ] = False,
) -> None:
    """Create a key for a user; the key is printed alone on stdout, once."""
    settings = settings_or_exit()
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)

    async def work(uow: UnitOfWork) -> str:
        session = uow.session
        user = await user_service.get_user_by_email(session, email)
        if user is None:
            raise UserNotFound(f"No user with email {email}.")
        if replace:
            now = utcnow()
            for key in await account_service.list_api_keys(session, user.id):
                live = key.revoked_at is None and (key.expires_at is None or key.expires_at > now)
                if live and key.name == name:
                    await account_service.revoke_key(uow, SYSTEM_PRINCIPAL, key.id, clock=utcnow)
        issued = await account_service.issue_api_key(
            session,
            user_id=user.id,
            role=Role(user.role),
            name=name,
            pepper=settings.api_key_pepper.get_secret_value().encode(),
            scopes=scope or None,
            rate_limit_per_minute=rate_limit,
            expires_at=expires_at,
        )
        return issued.secret

    echo_secret_line(run_in_unit_of_work(settings, "keys.create", work))


@app.command("verify")
@one_line_errors
def verify() -> None:
    """Check the key given on stdin (never as an argument): exit 0 when it works now, else 1
    with the reason. For scripts that keep a key, e.g. scripts/dev's development key."""
    settings = settings_or_exit()
    key = sys.stdin.readline().strip()
    if not keys.is_well_formed(key):
        raise Unauthenticated("The API key is malformed.")
    digest = keys.hash_key(settings.api_key_pepper.get_secret_value().encode(), key)

    async def work(session: AsyncSession) -> str:
        resolved = await credentials.resolve_api_key(session, digest, clock=utcnow)
        principal = resolved.principal
        return f"valid: key {principal.api_key_id} of user {principal.user_id} ({principal.role})"

    typer.echo(run_in_transaction(settings, "keys.verify", work), err=True)


@app.command("list")
@one_line_errors
def list_keys(email: Annotated[str, typer.Option(help="Owner's email.")]) -> None:
    """List a user's keys (prefixes only; secrets are never stored)."""
    settings = settings_or_exit()

    async def work(session: AsyncSession) -> list[list[str]]:
        user = await user_service.get_user_by_email(session, email)
        if user is None:
            raise UserNotFound(f"No user with email {email}.")
        rows = await account_service.list_api_keys(session, user.id)
        return [
            [
                str(k.id),
                k.name,
                k.prefix + "…",
                " ".join(k.scopes),
                str(k.expires_at or "-"),
                str(k.revoked_at or "-"),
            ]
            for k in rows
        ]

    table = Table("id", "name", "prefix", "scopes", "expires", "revoked")
    for row in run_in_transaction(settings, "keys.list", work):
        table.add_row(*row)
    Console().print(table)


@app.command("rotate")
@one_line_errors
def rotate(
    key_id: Annotated[uuid.UUID, typer.Argument(help="Id of the key to replace.")],
    grace: Annotated[
        int,
        typer.Option(
            min=0, max=MAX_GRACE_SECONDS, help="Seconds the old key keeps working (0 = now)."
        ),
    ] = 86_400,
) -> None:
    """Replace a key (same owner, name, scopes, limit); the new key is printed alone, once."""
    settings = settings_or_exit()

    async def work(uow: UnitOfWork) -> str:
        issued = await account_service.rotate_key(
            uow,
            SYSTEM_PRINCIPAL,
            key_id,
            grace_period_seconds=grace,
            pepper=settings.api_key_pepper.get_secret_value().encode(),
            clock=utcnow,
        )
        return issued.secret

    echo_secret_line(run_in_unit_of_work(settings, "keys.rotate", work))


@app.command("revoke")
@one_line_errors
def revoke(key_id: Annotated[uuid.UUID, typer.Argument(help="Id of the key to revoke.")]) -> None:
    """Revoke a key: it stops working at once."""
    settings = settings_or_exit()

    async def work(uow: UnitOfWork) -> None:
        await account_service.revoke_key(uow, SYSTEM_PRINCIPAL, key_id, clock=utcnow)

    run_in_unit_of_work(settings, "keys.revoke", work)
    typer.echo(f"revoked {key_id}", err=True)
