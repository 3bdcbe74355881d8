"""`helpline rules export|import`: automation rules as YAML, reviewable in git (acts as an admin).

The file is a list of rules keyed by name (no ids, no counters): `export` writes every rule in
run order; `import` creates each named rule or replaces the one of that name, in one
transaction — an invalid rule anywhere imports nothing. `--prune` also deletes rules the file
does not name, so the file is the whole truth.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml  # type: ignore[import-untyped]  # no stubs installed; used for safe_load/safe_dump only
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.principal import SYSTEM_PRINCIPAL
from helpline.cli.running import fail, one_line_errors, run_in_transaction, settings_or_exit
from helpline.kit.clock import utcnow
from helpline.rule import service
from helpline.rule.schemas import RuleCreate

app = typer.Typer(help="Automation rules as YAML (rules as code).", no_args_is_help=True)
FIELDS = tuple(RuleCreate.model_fields)


def _document(rule: Any) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in FIELDS}


@app.command("export")
@one_line_errors
def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Write every rule, in run order, as YAML."""
    settings = settings_or_exit()

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        return [_document(r) for r in await service.list_rules(session, SYSTEM_PRINCIPAL)]

    rules = run_in_transaction(settings, "rules export", work)
    text = yaml.safe_dump({"rules": rules}, sort_keys=False, allow_unicode=True)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        typer.echo(f"exported {len(rules)} rule(s) to {output}", err=True)


@app.command("import")
@one_line_errors
def import_(
    source: Annotated[
        Path, typer.Argument(help="YAML file written by `rules export` (- : stdin).")
    ],
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete rules the file does not name.")
    ] = False,
) -> None:
    """Create or replace the rules of the file (by name), all or nothing."""
    settings = settings_or_exit()
    raw = sys.stdin.read() if str(source) == "-" else source.read_text()
    try:
        document = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        raise fail(f"not valid YAML: {exc}") from exc
    items = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise fail("the file must hold a `rules:` list")
    rules: list[RuleCreate] = []
    for i, item in enumerate(items):
        try:
            rules.append(RuleCreate.model_validate(item))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            raise fail(
                f"rule {i + 1} ({(item or {}).get('name', '?')}): {where}: {error['msg']}"
            ) from exc
    names = [r.name.lower() for r in rules]
    if len(set(names)) != len(names):
        raise fail("two rules of the file have the same name")

    async def work(session: AsyncSession) -> dict[str, int]:
        counts = {"created": 0, "updated": 0, "deleted": 0}
        for rule in rules:
            counts[await service.upsert_rule(session, SYSTEM_PRINCIPAL, rule, utcnow())] += 1
        if prune:
            for existing in await service.list_rules(session, SYSTEM_PRINCIPAL):
                if existing.name.lower() not in names:
                    await service.delete_rule(session, SYSTEM_PRINCIPAL, existing.id)
                    counts["deleted"] += 1
        return counts

    counts = run_in_transaction(settings, "rules import", work)
    typer.echo(
        f"imported: {counts['created']} created, {counts['updated']} updated,"
        f" {counts['deleted']} deleted",
        err=True,
    )
