"""Mailboxes (admins): create, update, disable, rotate the inbound secret, test connections;
the quarantine (list, replay, discard) and the suppression list."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.auth.permissions import Scope
from helpline.auth.principal import Principal
from helpline.errors import (
    EmailSuppressionNotFound,
    InboundEmailNotFound,
    InboundEmailNotQuarantined,
    InvalidCursorError,
    MailboxAddressTaken,
    MailboxDefaultChanged,
    MailboxNotFound,
    PermissionDenied,
)
from helpline.kit.cursor import InvalidCursor, decode_cursor, encode_cursor
from helpline.kit.ids import new_id
from helpline.kit.rows import AnyRow
from helpline.mail import repository
from helpline.mail.schemas import MailboxCreate, MailboxUpdate
from helpline.mail.vault import Vault
from helpline.models import EmailSuppression, Mailbox
from helpline.models.enums import Role
from helpline.team import service as team_service
from helpline.user import service as user_service
from helpline.webhook.signing import new_secret

STAFF = {Role.agent, Role.admin}
INBOUND_SORT = "inbound-emails"
SUPPRESSION_SORT = "email-suppressions"


def require_admin(principal: Principal) -> None:
    """Admins whose credentials carry `mailboxes:write` (a narrower admin key cannot)."""
    if not principal.is_admin or not principal.has(Scope.mailboxes_write):
        raise PermissionDenied("This action needs the 'mailboxes:write' permission (admins).")


async def _check_assignee(session: AsyncSession, assignee: uuid.UUID | None) -> None:
    if assignee is not None:
        await user_service.require_user_with_role(session, assignee, STAFF, "default_assignee")


async def _check_team(session: AsyncSession, team_id: uuid.UUID | None) -> None:
    if team_id is not None:
        await team_service.require_team(session, team_id, "default_team_id")


async def create_mailbox(
    session: AsyncSession, principal: Principal, data: MailboxCreate, vault: Vault
) -> tuple[Mailbox, str]:
    """A new mailbox and its inbound signing secret (the only time it is returned)."""
    require_admin(principal)
    address = str(data.address).lower()
    if await repository.address_taken(session, address):
        raise MailboxAddressTaken(f"A mailbox for {address} already exists.")
    await _check_assignee(session, data.default_assignee)
    await _check_team(session, data.default_team_id)
    secret = new_secret()
    row = await repository.insert_mailbox(
        session,
        {
            "id": new_id(),
            "address": address,
            "display_name": data.display_name,
            "imap_url_encrypted": vault.encrypt(data.imap_url) if data.imap_url else None,
            "smtp_url_encrypted": vault.encrypt(data.smtp_url) if data.smtp_url else None,
            "inbound_secret_encrypted": vault.encrypt(secret),
            "default_priority": data.default_priority.value,
            "default_assignee": data.default_assignee,
            "default_team_id": data.default_team_id,
            "allow_unknown_senders": data.allow_unknown_senders,
            "auto_acknowledge": data.auto_acknowledge,
            "auto_acknowledge_template": data.auto_acknowledge_template,
            "is_active": data.is_active,
        },
    )
    if data.is_default:
        await _make_default(session, row.id, row.created_at)
        row = await get_mailbox(session, principal, row.id)
    return row, secret


async def _make_default(session: AsyncSession, mailbox_id: uuid.UUID, now: datetime) -> None:
    if not await repository.make_default(session, mailbox_id, now):
        raise MailboxDefaultChanged("Another mailbox became the default at the same time.")


async def get_mailbox(
    session: AsyncSession, principal: Principal, mailbox_id: uuid.UUID, *, lock: bool = False
) -> Mailbox:
    require_admin(principal)
    row = await repository.get_mailbox(session, mailbox_id, lock=lock)
    if row is None:
        raise MailboxNotFound()
    return row


async def get_mailbox_by_address(
    session: AsyncSession, principal: Principal, address: str
) -> Mailbox:
    require_admin(principal)
    row = await repository.get_mailbox_by_address(session, address)
    if row is None:
        raise MailboxNotFound(f"No mailbox for {address}.")
    return row


async def list_mailboxes(session: AsyncSession, principal: Principal) -> list[Mailbox]:
    require_admin(principal)
    return await repository.list_mailboxes(session)


async def update_mailbox(
    session: AsyncSession,
    principal: Principal,
    mailbox_id: uuid.UUID,
    data: MailboxUpdate,
    vault: Vault,
    *,
    now: datetime,
) -> Mailbox:
    """Change the fields given; a new IMAP URL starts from the folder's beginning again (the
    unique key per message keeps what was stored already)."""
    await get_mailbox(session, principal, mailbox_id, lock=True)
    given = data.model_fields_set
    values: dict[str, Any] = {}
    for name in (
        "display_name",
        "allow_unknown_senders",
        "auto_acknowledge",
        "auto_acknowledge_template",
        "is_active",
    ):
        if name in given and getattr(data, name) is not None:
            values[name] = getattr(data, name)
    if "default_priority" in given and data.default_priority is not None:
        values["default_priority"] = data.default_priority.value
    if "default_assignee" in given:
        await _check_assignee(session, data.default_assignee)
        values["default_assignee"] = data.default_assignee
    if "default_team_id" in given:
        await _check_team(session, data.default_team_id)
        values["default_team_id"] = data.default_team_id
    if "imap_url" in given:
        values["imap_url_encrypted"] = vault.encrypt(data.imap_url) if data.imap_url else None
        values.update(imap_uidvalidity=None, imap_last_uid=None, imap_error=None)
    if "smtp_url" in given:
        values["smtp_url_encrypted"] = vault.encrypt(data.smtp_url) if data.smtp_url else None
    if "is_default" in given and data.is_default is False:
        values["is_default"] = False
    if values:
        values["updated_at"] = now
        await repository.update_mailbox(session, mailbox_id, values)
    if data.is_default:
        await _make_default(session, mailbox_id, now)
    return await get_mailbox(session, principal, mailbox_id)


async def rotate_inbound_secret(
    session: AsyncSession,
    principal: Principal,
    mailbox_id: uuid.UUID,
    vault: Vault,
    *,
    now: datetime,
) -> tuple[Mailbox, str]:
    """A new inbound signing secret (returned once); the old one stops working at once."""
    await get_mailbox(session, principal, mailbox_id, lock=True)
    secret = new_secret()
    await repository.update_mailbox(
        session, mailbox_id, {"inbound_secret_encrypted": vault.encrypt(secret), "updated_at": now}
    )
    return await get_mailbox(session, principal, mailbox_id), secret


@dataclass(frozen=True, slots=True)
class MailboxSecrets:
    """A mailbox's decrypted credentials, for the moment they are used (never logged)."""

    imap_url: str | None
    smtp_url: str | None

    def __repr__(self) -> str:  # never print the secrets by accident
        return "MailboxSecrets(***)"


def secrets_of(mailbox: Mailbox, vault: Vault) -> MailboxSecrets:
    return MailboxSecrets(
        imap_url=vault.decrypt(mailbox.imap_url_encrypted) if mailbox.imap_url_encrypted else None,
        smtp_url=vault.decrypt(mailbox.smtp_url_encrypted) if mailbox.smtp_url_encrypted else None,
    )


# -- quarantine ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class InboundPage:
    rows: list[AnyRow]
    next_cursor: str | None


async def list_inbound_emails(
    session: AsyncSession,
    principal: Principal,
    *,
    status: str | None,
    mailbox_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
    cursor_secret: bytes,
) -> InboundPage:
    """Inbound emails, newest first (keyset over their time-ordered ids)."""
    require_admin(principal)
    before = None
    if cursor:
        try:
            before = uuid.UUID(str(decode_cursor(cursor_secret, INBOUND_SORT, cursor)[0]))
        except (InvalidCursor, ValueError, IndexError) as exc:
            raise InvalidCursorError(str(exc)) from exc
    rows = await repository.list_inbound(
        session, status=status, mailbox_id=mailbox_id, before=before, limit=limit
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = inbound_cursor(cursor_secret, rows[-1])
    return InboundPage(rows=rows, next_cursor=next_cursor)


def inbound_cursor(cursor_secret: bytes, row: AnyRow) -> str:
    """The cursor that continues the inbound list after ``row``."""
    return encode_cursor(cursor_secret, INBOUND_SORT, [str(row.id)])


async def get_inbound_email(
    session: AsyncSession, principal: Principal, inbound_id: uuid.UUID, *, lock: bool = False
) -> AnyRow:
    require_admin(principal)
    row = await repository.get_inbound(session, inbound_id, lock=lock)
    if row is None:
        raise InboundEmailNotFound()
    return row


async def replay_inbound_email(
    session: AsyncSession, principal: Principal, inbound_id: uuid.UUID
) -> AnyRow:
    """Process a quarantined message again (e.g. after allowing its sender or raising a limit)."""
    row = await get_inbound_email(session, principal, inbound_id, lock=True)
    if row.status != "quarantined":
        raise InboundEmailNotQuarantined(f"The inbound email is {row.status}.")
    await repository.update_inbound(session, inbound_id, {"status": "received", "reason": None})
    await repository.defer_processing(session, inbound_id)
    return await get_inbound_email(session, principal, inbound_id)


async def discard_inbound_email(
    session: AsyncSession, principal: Principal, inbound_id: uuid.UUID, *, now: datetime
) -> AnyRow:
    """Give up on a quarantined message (kept, raw, for the record; never processed)."""
    row = await get_inbound_email(session, principal, inbound_id, lock=True)
    if row.status != "quarantined":
        raise InboundEmailNotQuarantined(f"The inbound email is {row.status}.")
    await repository.update_inbound(
        session,
        inbound_id,
        {
            "status": "discarded",
            "reason": f"discarded by an admin ({row.reason})"[:1000],
            "processed_at": now,
        },
    )
    return await get_inbound_email(session, principal, inbound_id)


async def purge_raw_mail(
    session: AsyncSession, *, now: datetime, retention_days: int, batch: int = 500
) -> int:
    """One batch of the retention: drop the raw bytes of processed or discarded mail received
    more than ``retention_days`` ago (0: never). The rows stay, so deduplication still works."""
    if retention_days <= 0:
        return 0
    return await repository.purge_raw(session, now - timedelta(days=retention_days), now, batch)


# -- suppressions --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SuppressionPage:
    rows: list[EmailSuppression]
    next_cursor: str | None


async def list_suppressions(
    session: AsyncSession,
    principal: Principal,
    *,
    limit: int,
    cursor: str | None,
    cursor_secret: bytes,
) -> SuppressionPage:
    require_admin(principal)
    after = None
    if cursor:
        try:
            after = str(decode_cursor(cursor_secret, SUPPRESSION_SORT, cursor)[0])
        except (InvalidCursor, IndexError) as exc:
            raise InvalidCursorError(str(exc)) from exc
    rows = await repository.list_suppressions(session, after, limit)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(cursor_secret, SUPPRESSION_SORT, [rows[-1].address])
    return SuppressionPage(rows=rows, next_cursor=next_cursor)


async def clear_suppression(session: AsyncSession, principal: Principal, address: str) -> None:
    """Mail may go to ``address`` again."""
    require_admin(principal)
    if not await repository.clear_suppression(session, address):
        raise EmailSuppressionNotFound()
