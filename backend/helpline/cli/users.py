"""`helpline users`: create users (and their first API key)."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.account import service as account_service
from helpline.cli.running import (
    echo_secret_line,
    fail,
    one_line_errors,
    run_in_transaction,
    settings_or_exit,
)
from helpline.models.enums import Role
from helpline.user import service as user_service
from helpline.user.schemas import UserCreate

app = typer.Typer(help="Manage users.", no_args_is_help=True)


@app.command("create")
@one_line_errors
def create(
    email: Annotated[str, typer.Option(help="Email address (unique).")],
    role: Annotated[Role, typer.Option(help="admin, agent or customer.")],
    name: Annotated[
        str | None, typer.Option(help="Display name (default: from the email).")
    ] = None,
    key_name: Annotated[str, typer.Option(help="Name of the first API key.")] = "initial",
) -> None:
    """Create a user and print their first API key alone on the last line."""
    settings = settings_or_exit()
    try:
        data = UserCreate(email=email, name=name or email.split("@")[0], role=role)
    except ValidationError as exc:
        raise fail(f"invalid {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from exc

    async def work(session: AsyncSession) -> str:
        user = await user_service.create_user(
            session, data, public_domains_only=settings.email_public_domains_only
        )
        issued = await account_service.issue_api_key(
            session,
            user_id=user.id,
            role=data.role,
            name=key_name,
            pepper=settings.api_key_pepper.get_secret_value().encode(),
        )
        typer.echo(f"created {data.role.value} {user.email} ({user.id}); API key:", err=True)
        return issued.secret

    echo_secret_line(run_in_transaction(settings, "users.create", work))
