"""`helpline users set-password`: give a user a (new) sign-in password for the web interface."""

from __future__ import annotations

import secrets
import sys
from typing import Annotated

import typer
from pydantic import SecretStr

from helpline.auth import credentials
from helpline.auth.sessions import SessionStore
from helpline.cli.running import (
    echo_secret_line,
    fail,
    in_unit_of_work,
    one_line_errors,
    run,
    settings_or_exit,
)
from helpline.db import UnitOfWork
from helpline.errors import ValidationFailed
from helpline.runtime import make_redis
from helpline.user import service as user_service
from helpline.user.schemas import UserUpdate


def generated_password() -> str:
    """A random password that passes the strength check (about 143 bits)."""
    return secrets.token_urlsafe(18)


@one_line_errors
def set_password(
    email: Annotated[str, typer.Option(help="Email of the user.")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password from stdin (default: generate one)."
        ),
    ] = False,
) -> None:
    """Set a user's password (ends their sessions); prints a generated one on the last line."""
    settings = settings_or_exit()
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else generated_password()
    if not password:
        raise fail("empty password on stdin")

    async def main() -> None:
        redis = make_redis(settings)
        store = SessionStore(redis, settings.redis_key_prefix, settings.session_ttl_seconds)

        async def work(uow: UnitOfWork) -> None:
            user = await user_service.get_user_by_email(uow.session, email)
            if user is None:
                raise fail(f"no user with email {email}")
            try:
                await user_service.update_user(
                    uow,
                    user.id,
                    UserUpdate(password=SecretStr(password)),
                    store.delete_all,
                    credentials.revoke_keys_of_user,
                )
            except ValidationFailed as exc:  # say why, not only "too weak"
                reasons = "; ".join(str(e.get("msg", "")) for e in exc.errors or [])
                raise fail(f"{exc.detail} The password {reasons}.") from exc
            typer.echo(f"password set for {user.role} {user.email}", err=True)

        try:
            await in_unit_of_work(settings, "users.set_password", work)
        finally:
            await redis.aclose()

    run(main())
    if not password_stdin:
        echo_secret_line(password)
