"""`helpline seed`: realistic development data (implemented in helpline.seed)."""

from __future__ import annotations

from typing import Annotated

import typer

from helpline.cli.running import one_line_errors, settings_or_exit


@one_line_errors
def seed(
    tickets: Annotated[int, typer.Option(min=0, help="Number of tickets to create.")] = 200,
    seed_value: Annotated[
        int, typer.Option("--seed", help="Random seed (deterministic data).")
    ] = 1,
    if_empty: Annotated[
        bool,
        typer.Option("--if-empty", help="Do nothing when the database already has tickets."),
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Create agents, customers, tickets, metadata and conversations.

    The load writes no per-row ticket history or audit rows (their triggers are off for the
    load's transaction and on again afterwards, also when it fails); one `system.seeded` audit
    event records the row counts instead. At the end it prints the time of each phase (the
    COPY of each table, each index and constraint rebuilt, the VACUUM); see
    docs/performance/seed.md for 1M and 10M figures.
    """
    from helpline.seed import run_seed

    summary = run_seed(
        settings_or_exit(),
        tickets=tickets,
        seed=seed_value,
        if_empty=if_empty,
        show_progress=progress,
    )
    if summary.skipped:
        typer.echo("the database already has tickets: nothing seeded (--if-empty)")
        return
    typer.echo(
        f"seeded {summary.tickets:,} tickets, {summary.messages:,} messages, "
        f"{summary.metadata:,} metadata entries; users: {summary.users_created:,} created, "
        f"{summary.users_reused:,} reused (admin: {summary.admin_email}) "
        f"in {summary.seconds:.1f} s"
    )
    if summary.phases:
        typer.echo(
            "phases: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in summary.phases)
        )
