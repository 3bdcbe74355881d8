"""`helpline db`: Alembic migrations with the service's own settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from helpline.cli.running import fail, one_line_errors, settings_or_exit
from helpline.runtime import migrations_dir, resolve_database_url

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where a command uses it: it is a fifth of the CLI's start-up, and every
# other `helpline` command (and each test that runs one) would pay for it.

app = typer.Typer(
    help="Database migrations (Alembic); stop the embedded development server.",
    no_args_is_help=True,
)


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic config pointing at the shipped migrations and the settings' database."""
    from alembic.config import Config

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
    from alembic import command

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
    from alembic import command

    command.downgrade(alembic_config(), revision)
    typer.echo(f"database downgraded to {revision}")


@app.command()
@one_line_errors
def current() -> None:
    """Show the database's current revision."""
    from alembic import command

    command.current(alembic_config(), verbose=False)


@app.command()
@one_line_errors
def history() -> None:
    """List all revisions."""
    from alembic import command

    command.history(alembic_config(), verbose=False)


@app.command()
@one_line_errors
def stop() -> None:
    """Stop the embedded development PostgreSQL under var/ (normally it stops by itself when the
    last Helpline process using it exits; this is for one left behind by a killed process)."""
    from helpline.kit.embedded import stop_embedded_postgres

    settings = settings_or_exit()
    if not settings.uses_embedded_database:
        raise fail("HELPLINE_DATABASE_URL is set: there is no embedded PostgreSQL to stop")
    where = (settings.var_dir / "postgres").resolve()
    if stop_embedded_postgres(settings.var_dir):
        typer.echo(f"stopped the embedded PostgreSQL in {where}")
    else:
        typer.echo(f"the embedded PostgreSQL in {where} is not running")
