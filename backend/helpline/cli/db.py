"""`helpline db`: Alembic migrations with the service's own settings."""

from __future__ import annotations

from typing import Annotated

import typer
from alembic import command
from alembic.config import Config

from helpline.cli.jobs import one_line_errors, settings_or_exit
from helpline.runtime import migrations_dir, resolve_database_url

app = typer.Typer(help="Database migrations (Alembic).", no_args_is_help=True)


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic config pointing at the shipped migrations and the settings' database."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if database_url is None:
        settings = settings_or_exit()
        # Migrations run as the schema owner; the service's runtime role may not alter tables.
        database_url = settings.database_owner_url or resolve_database_url(settings)
    config.attributes["database_url"] = database_url
    return config


@app.command()
@one_line_errors
def upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Upgrade the schema (default: to the latest revision)."""
    from helpline.cli.audit import record_system_event

    command.upgrade(alembic_config(), revision)
    record_system_event("system.migrated", revision=revision)
    typer.echo(f"database upgraded to {revision}")


@app.command()
@one_line_errors
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")],
) -> None:
    """Downgrade the schema to REVISION."""
    command.downgrade(alembic_config(), revision)
    typer.echo(f"database downgraded to {revision}")


@app.command()
@one_line_errors
def current() -> None:
    """Show the database's current revision."""
    command.current(alembic_config(), verbose=False)


@app.command()
@one_line_errors
def history() -> None:
    """List all revisions."""
    command.history(alembic_config(), verbose=False)
