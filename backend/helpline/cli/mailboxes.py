"""`helpline mailboxes` (acts as an admin) and `helpline mail ingest` (an MTA pipe, or replaying
`.eml` files)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.principal import SYSTEM_PRINCIPAL
from helpline.cli.running import (
    echo_secret_line,
    fail,
    one_line_errors,
    run_in_transaction,
    settings_or_exit,
)
from helpline.kit.clock import utcnow
from helpline.mail import ingest, service
from helpline.mail.schemas import MailboxCreate, MailboxUpdate
from helpline.mail.vault import Vault
from helpline.models import Mailbox
from helpline.models.enums import TicketPriority

app = typer.Typer(help="Mailboxes of the email channel.", no_args_is_help=True)
mail_app = typer.Typer(help="The email channel.", no_args_is_help=True)


def _invalid(exc: ValidationError) -> typer.Exit:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return fail(f"invalid mailbox: {where}: {first['msg']}")


@app.command("create")
@one_line_errors
def create(
    address: Annotated[str, typer.Argument(help="The mailbox's address.")],
    display_name: Annotated[str, typer.Option(help="Name in From of outgoing mail.")] = "",
    imap_url: Annotated[
        str | None,
        typer.Option(help="imaps://USER:PASS@HOST:PORT/FOLDER to fetch mail from."),
    ] = None,
    smtp_url: Annotated[
        str | None, typer.Option(help="Outgoing server (default: HELPLINE_SMTP_URL).")
    ] = None,
    allow_unknown_senders: Annotated[
        bool, typer.Option(help="Unknown senders become customers (else quarantined).")
    ] = True,
    auto_acknowledge: Annotated[
        bool, typer.Option(help="Acknowledge new tickets automatically.")
    ] = False,
    default_priority: Annotated[
        TicketPriority, typer.Option(help="Priority of tickets opened by mail.")
    ] = TicketPriority.normal,
    default: Annotated[
        bool,
        typer.Option("--default", help="Mail the replies of web/API tickets from this mailbox."),
    ] = False,
) -> None:
    """Create a mailbox; its id goes to stderr, the inbound signing secret alone to stdout."""
    settings = settings_or_exit()
    try:
        data = MailboxCreate.model_validate(
            {
                "address": address,
                "display_name": display_name,
                "imap_url": imap_url,
                "smtp_url": smtp_url,
                "allow_unknown_senders": allow_unknown_senders,
                "auto_acknowledge": auto_acknowledge,
                "default_priority": default_priority,
                "is_default": default,
            }
        )
    except ValidationError as exc:
        raise _invalid(exc) from exc

    async def work(session: AsyncSession) -> tuple[Mailbox, str]:
        return await service.create_mailbox(
            session, SYSTEM_PRINCIPAL, data, Vault.from_settings(settings)
        )

    row, secret = run_in_transaction(settings, "mailboxes create", work)
    typer.echo(f"created mailbox {row.id}", err=True)
    echo_secret_line(secret)


@app.command("list")
@one_line_errors
def list_mailboxes() -> None:
    """Mailboxes with their inbound source and IMAP state (never credentials)."""
    settings = settings_or_exit()

    async def work(session: AsyncSession) -> list[Mailbox]:
        return await service.list_mailboxes(session, SYSTEM_PRINCIPAL)

    table = Table(
        "id", "address", "inbound", "active", "default", "unknown senders", "ack", "imap error"
    )
    for row in run_in_transaction(settings, "mailboxes list", work):
        table.add_row(
            str(row.id),
            row.address,
            "imap" if row.imap_url_encrypted is not None else "http",
            "yes" if row.is_active else "no",
            "yes" if row.is_default else "",
            "allow" if row.allow_unknown_senders else "quarantine",
            "yes" if row.auto_acknowledge else "no",
            row.imap_error or "",
        )
    Console(width=200).print(table)


def _mailbox_ref(ref: str) -> tuple[uuid.UUID | None, str | None]:
    try:
        return uuid.UUID(ref), None
    except ValueError:
        return None, ref


async def _find(session: AsyncSession, ref: str) -> Mailbox:
    mailbox_id, address = _mailbox_ref(ref)
    if mailbox_id is not None:
        return await service.get_mailbox(session, SYSTEM_PRINCIPAL, mailbox_id)
    return await service.get_mailbox_by_address(session, SYSTEM_PRINCIPAL, address or "")


@app.command("update")
@one_line_errors
def update(
    mailbox: Annotated[str, typer.Argument(help="Mailbox id or address.")],
    display_name: Annotated[str | None, typer.Option(help="Name in From.")] = None,
    imap_url: Annotated[str | None, typer.Option(help="New IMAP URL ('' turns IMAP off).")] = None,
    smtp_url: Annotated[str | None, typer.Option(help="New SMTP URL ('' = the default).")] = None,
    allow_unknown_senders: Annotated[
        bool | None, typer.Option(help="Unknown senders become customers.")
    ] = None,
    auto_acknowledge: Annotated[bool | None, typer.Option(help="Acknowledge new tickets.")] = None,
    enable: Annotated[bool, typer.Option("--enable", help="Enable a disabled mailbox.")] = False,
    default: Annotated[
        bool | None,
        typer.Option(help="Make it the default mailbox for web/API tickets (or not)."),
    ] = None,
) -> None:
    """Change a mailbox (only the options given)."""
    settings = settings_or_exit()
    values: dict[str, object] = {}
    for name, value in (
        ("display_name", display_name),
        ("allow_unknown_senders", allow_unknown_senders),
        ("auto_acknowledge", auto_acknowledge),
        ("is_default", default),
    ):
        if value is not None:
            values[name] = value
    if imap_url is not None:
        values["imap_url"] = imap_url or None
    if smtp_url is not None:
        values["smtp_url"] = smtp_url or None
    if enable:
        values["is_active"] = True
    try:
        data = MailboxUpdate.model_validate(values)
    except ValidationError as exc:
        raise _invalid(exc) from exc

    async def work(session: AsyncSession) -> Mailbox:
        row = await _find(session, mailbox)
        return await service.update_mailbox(
            session, SYSTEM_PRINCIPAL, row.id, data, Vault.from_settings(settings), now=utcnow()
        )

    row = run_in_transaction(settings, "mailboxes update", work)
    typer.echo(f"updated mailbox {row.id}")


@app.command("disable")
@one_line_errors
def disable(mailbox: Annotated[str, typer.Argument(help="Mailbox id or address.")]) -> None:
    """Stop taking mail for a mailbox (what was stored stays)."""
    settings = settings_or_exit()

    async def work(session: AsyncSession) -> Mailbox:
        row = await _find(session, mailbox)
        return await service.update_mailbox(
            session,
            SYSTEM_PRINCIPAL,
            row.id,
            MailboxUpdate(is_active=False),
            Vault.from_settings(settings),
            now=utcnow(),
        )

    row = run_in_transaction(settings, "mailboxes disable", work)
    typer.echo(f"mailbox {row.id} disabled")


@mail_app.command("ingest")
@one_line_errors
def ingest_command(
    mailbox: Annotated[str, typer.Option("--mailbox", help="Address of the mailbox.")],
    file: Annotated[str, typer.Argument(help="An .eml file, or - for stdin.")] = "-",
) -> None:
    """Store one raw message (an MTA pipe, or replaying an .eml file) and queue its processing;
    prints the inbound id. The same message again prints the same id."""
    settings = settings_or_exit()
    raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    if not raw.strip():
        raise fail("the message is empty")

    async def work(session: AsyncSession) -> ingest.Stored:
        row = await ingest.mailbox_by_address(session, mailbox)
        return await ingest.store_raw(session, row, raw, "cli", max_bytes=settings.mail_max_bytes)

    stored = run_in_transaction(settings, "mail ingest", work)
    if not stored.created:
        typer.echo(f"already received ({stored.status})", err=True)
    elif stored.status == "quarantined":
        typer.echo("stored and quarantined: too large", err=True)
    typer.echo(str(stored.id))
