"""`helpline seed`: realistic development data (implemented in helpline.seed)."""

from __future__ import annotations

from typing import Annotated

import typer

from helpline.cli.jobs import one_line_errors, settings_or_exit


@one_line_errors
def seed(
    tickets: Annotated[int, typer.Option(min=0, help="Number of tickets to create.")] = 200,
    seed_value: Annotated[
        int, typer.Option("--seed", help="Random seed (deterministic data).")
    ] = 1,
) -> None:
    """Create agents, customers, tickets, metadata and conversations."""
    from helpline.seed import run_seed

    run_seed(settings_or_exit(), tickets=tickets, seed=seed_value)
