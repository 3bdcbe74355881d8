"""The `helpline` command line."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from helpline.cli import (
    attachments,
    audit,
    backup,
    db,
    keys,
    mailboxes,
    passwords,
    reports,
    rules,
    seed,
    users,
    webhooks,
    worker,
)
from helpline.cli.running import fail, one_line_errors, settings_or_exit

app = typer.Typer(
    help="Helpline ticket service.", no_args_is_help=True, pretty_exceptions_enable=False
)
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="users")
users.app.command("set-password")(passwords.set_password)
app.add_typer(keys.app, name="keys")
app.add_typer(attachments.app, name="attachments")
app.add_typer(audit.app, name="audit")
app.add_typer(backup.app, name="backup")
app.command("seed")(seed.seed)
app.command("worker")(worker.worker)
app.add_typer(worker.jobs_app, name="jobs")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(rules.app, name="rules")
app.add_typer(reports.app, name="reports")
app.add_typer(mailboxes.app, name="mailboxes")
app.add_typer(mailboxes.mail_app, name="mail")

config_app = typer.Typer(help="Configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
openapi_app = typer.Typer(help="OpenAPI document.", no_args_is_help=True)
app.add_typer(openapi_app, name="openapi")


@app.command()
@one_line_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings).")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: settings).")
    ] = None,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
) -> None:
    """Run the HTTP server (uvicorn with uvloop and httptools)."""
    import uvicorn

    from helpline.app import create_app
    from helpline.cli.db import alembic_config
    from helpline.runtime import resolve_database_url
    from helpline.server.protocol import HelplineHttpToolsProtocol

    settings = settings_or_exit()
    host, port = host or settings.host, port or settings.port
    workers = workers or settings.server_workers
    options = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        # httptools, but a request with a method llhttp does not know reaches the app (405).
        "http": HelplineHttpToolsProtocol,
        "log_config": None,
        "access_log": False,
        # The app resolves the client address itself, trusting only HELPLINE_TRUSTED_PROXIES.
        "proxy_headers": False,
    }
    if settings.uses_embedded_database or settings.uses_embedded_redis or reload:
        if settings.uses_embedded_database:
            # The embedded database is a development convenience: keep it migrated.
            from alembic import command

            command.upgrade(alembic_config(resolve_database_url(settings)), "head")
        if workers > 1:
            typer.secho("embedded services serve one process: using 1 worker", err=True)
        if reload:
            uvicorn.run("helpline.app:create_app", factory=True, reload=True, **options)  # type: ignore[arg-type]
            return
        uvicorn.run(create_app(settings), **options)  # type: ignore[arg-type]
        return
    uvicorn.run("helpline.app:create_app", factory=True, workers=workers, **options)  # type: ignore[arg-type]


@config_app.command("show")
@one_line_errors
def config_show() -> None:
    """Print the effective configuration as JSON, secrets redacted."""
    typer.echo(json.dumps(settings_or_exit().redacted(), indent=2, default=str))


@config_app.command("get")
@one_line_errors
def config_get(name: Annotated[str, typer.Argument(help="Setting name, e.g. port.")]) -> None:
    """Print one effective setting (secrets redacted)."""
    values = settings_or_exit().redacted()
    if name not in values:
        raise fail(f"unknown setting {name!r}")
    typer.echo(values[name])


@openapi_app.command("export")
@one_line_errors
def openapi_export(
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
) -> None:
    """Write the OpenAPI document (JSON)."""
    from helpline.app import create_app

    document = json.dumps(create_app(settings_or_exit()).openapi(), indent=2, sort_keys=True)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(document + "\n")
    else:
        typer.echo(document)
