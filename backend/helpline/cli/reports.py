"""`helpline reports backfill`: metric facts from history for tickets the worker never saw
(tickets older than migration 0018). Insert-only, so safe beside a running worker and to repeat."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn

from helpline.cli.running import one_line_errors, run, settings_or_exit
from helpline.config import Settings
from helpline.db import Database, make_engine
from helpline.report import runner
from helpline.runtime import resolve_database_url

app = typer.Typer(help="Reports (metric facts).", no_args_is_help=True)


async def _backfill(settings: Settings, batch: int, show: bool) -> tuple[int, int]:
    database = Database(make_engine(resolve_database_url(settings), settings, pool_size=2))
    try:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description} {task.completed:,} tickets"),
            disable=not show, transient=True,
        ) as bar:  # fmt: skip
            task = bar.add_task("backfill", total=None)
            return await runner.backfill(
                database, batch=batch, progress=lambda n: bar.advance(task, n)
            )
    finally:
        await database.dispose()


@app.command("backfill")
@one_line_errors
def backfill(
    batch: Annotated[int, typer.Option(min=1, max=5000, help="Tickets per transaction.")] = 500,
    progress: Annotated[bool, typer.Option(help="Show progress.")] = True,
) -> None:
    """Write the metric facts every live ticket's history holds (created, first response,
    solves, reopens); facts already written are left as they are."""
    tickets, facts = run(_backfill(settings_or_exit(), batch, progress))
    typer.echo(f"read {tickets:,} tickets, wrote {facts:,} facts")
