"""The email channel in GraphQL (admins): mailboxes, the quarantine — thin resolvers over the
same services as REST. Credentials are input-only; the inbound secret is shown once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from helpline.auth.permissions import Scope
from helpline.graphql.context import parse_id
from helpline.graphql.ticket import build, given
from helpline.graphql.types import Connection, Edge, Info, PageInfo, check_page_size
from helpline.kit.pagination import DEFAULT_LIMIT
from helpline.mail import service as mail_service
from helpline.mail.schemas import MailboxCreate, MailboxRead, MailboxUpdate
from helpline.mail.vault import Vault
from helpline.models.enums import TicketPriority


@strawberry.type(description="A mailbox of the email channel (its credentials are never readable).")
class Mailbox:
    id: strawberry.ID
    address: str
    display_name: str
    inbound: str = strawberry.field(description="`imap` or `http` (endpoint/CLI only).")
    smtp_override: bool
    default_priority: TicketPriority
    default_assignee: strawberry.ID | None
    default_team_id: strawberry.ID | None = strawberry.field(
        description="Team of tickets opened by mail."
    )
    allow_unknown_senders: bool
    auto_acknowledge: bool
    auto_acknowledge_template: str
    is_active: bool
    is_default: bool = strawberry.field(
        description="Mails the replies of tickets opened on the web or by the API."
    )
    imap_uidvalidity: float | None = strawberry.field(description="IMAP UIDVALIDITY last seen.")
    imap_last_uid: float | None = strawberry.field(description="Highest IMAP UID stored.")
    imap_error: str | None
    imap_checked_at: datetime | None
    inbound_path: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> Mailbox:
        read = MailboxRead.of(row)
        return cls(
            id=strawberry.ID(str(read.id)),
            address=read.address,
            display_name=read.display_name,
            inbound=read.inbound,
            smtp_override=read.smtp_override,
            default_priority=read.default_priority,
            default_assignee=(
                None if read.default_assignee is None else strawberry.ID(str(read.default_assignee))
            ),
            default_team_id=(
                None if read.default_team_id is None else strawberry.ID(str(read.default_team_id))
            ),
            allow_unknown_senders=read.allow_unknown_senders,
            auto_acknowledge=read.auto_acknowledge,
            auto_acknowledge_template=read.auto_acknowledge_template,
            is_active=read.is_active,
            is_default=read.is_default,
            imap_uidvalidity=read.imap_uidvalidity,
            imap_last_uid=read.imap_last_uid,
            imap_error=read.imap_error,
            imap_checked_at=read.imap_checked_at,
            inbound_path=read.inbound_path,
            created_at=read.created_at,
            updated_at=read.updated_at,
        )


@strawberry.type(description="A new mailbox and its inbound signing secret (shown once).")
class CreatedMailbox:
    mailbox: Mailbox
    inbound_secret: str = strawberry.field(description="`whsec_…`; shown only this once.")


@strawberry.type(description="A message a mailbox received, kept raw (as `/inbound-emails`).")
class InboundEmail:
    id: strawberry.ID
    mailbox_id: strawberry.ID
    size: int
    sha256: str
    message_id: str | None
    source: str
    status: str = strawberry.field(description="received | processed | quarantined | discarded.")
    reason: str | None
    sender: str | None
    ticket_id: strawberry.ID | None
    conversation_id: strawberry.ID | None
    thread_reason: str | None
    attempts: int
    received_at: datetime
    processed_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> InboundEmail:
        def ident(value: Any) -> strawberry.ID | None:
            return None if value is None else strawberry.ID(str(value))

        return cls(
            id=strawberry.ID(str(row.id)),
            mailbox_id=strawberry.ID(str(row.mailbox_id)),
            size=row.size,
            sha256=row.sha256,
            message_id=row.message_id,
            source=row.source,
            status=row.status,
            reason=row.reason,
            sender=row.sender,
            ticket_id=ident(row.ticket_id),
            conversation_id=ident(row.conversation_id),
            thread_reason=row.thread_reason,
            attempts=row.attempts,
            received_at=row.received_at,
            processed_at=row.processed_at,
        )


@strawberry.input(description="A new mailbox (as `POST /api/v1/mailboxes`).")
class CreateMailboxInput:
    address: str
    display_name: str | None = strawberry.UNSET
    imap_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="Write-only; stored encrypted."
    )
    smtp_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="Write-only; stored encrypted."
    )
    default_priority: TicketPriority | None = strawberry.UNSET
    default_assignee: strawberry.ID | None = strawberry.UNSET
    default_team_id: strawberry.ID | None = strawberry.UNSET
    allow_unknown_senders: bool | None = strawberry.UNSET
    auto_acknowledge: bool | None = strawberry.UNSET
    auto_acknowledge_template: str | None = strawberry.UNSET
    is_active: bool | None = strawberry.UNSET
    is_default: bool | None = strawberry.UNSET


@strawberry.input(description="Change a mailbox: only the fields given change.")
class UpdateMailboxInput:
    id: strawberry.ID
    display_name: str | None = strawberry.UNSET
    imap_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="New IMAP URL, or null to turn IMAP off."
    )
    smtp_url: str | None = strawberry.UNSET
    default_priority: TicketPriority | None = strawberry.UNSET
    default_assignee: strawberry.ID | None = strawberry.UNSET
    default_team_id: strawberry.ID | None = strawberry.UNSET
    allow_unknown_senders: bool | None = strawberry.UNSET
    auto_acknowledge: bool | None = strawberry.UNSET
    auto_acknowledge_template: str | None = strawberry.UNSET
    is_active: bool | None = strawberry.UNSET
    is_default: bool | None = strawberry.UNSET


@strawberry.input(description="A mailbox or an inbound email, by id.")
class MailRefInput:
    id: strawberry.ID


def _values(input: object) -> dict[str, Any]:
    values = {k: v for k, v in given(input).items() if not (v is None and k in _NOT_NULL)}
    if values.get("default_assignee") is not None:
        values["default_assignee"] = parse_id(values["default_assignee"], "defaultAssignee")
    if values.get("default_team_id") is not None:
        values["default_team_id"] = parse_id(values["default_team_id"], "defaultTeamId")
    return values


# Inputs whose null means "leave as is" on create (the REST schema's defaults apply).
_NOT_NULL = frozenset(
    {
        "display_name",
        "default_priority",
        "allow_unknown_senders",
        "auto_acknowledge",
        "auto_acknowledge_template",
        "is_active",
    }
)


@strawberry.type
class MailQuery:
    @strawberry.field(description="Every mailbox (admins, `mailboxes:write`).")
    async def mailboxes(self, info: Info) -> list[Mailbox]:
        ctx = info.context
        principal = ctx.require(Scope.mailboxes_write)
        async with ctx.db() as session:
            rows = await mail_service.list_mailboxes(session, principal)
        return [Mailbox.from_row(r) for r in rows]

    @strawberry.field(description="One mailbox; null with a `mailbox-not-found` error.")
    async def mailbox(self, info: Info, id: strawberry.ID) -> Mailbox | None:
        ctx = info.context
        principal = ctx.require(Scope.mailboxes_write)
        async with ctx.db() as session:
            row = await mail_service.get_mailbox(session, principal, parse_id(id, "id"))
        return Mailbox.from_row(row)

    @strawberry.field(description='Inbound emails, newest first; `status: "quarantined"`.')
    async def inbound_emails(
        self,
        info: Info,
        status: str | None = None,
        first: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> Connection[InboundEmail]:
        ctx = info.context
        principal = ctx.require(Scope.mailboxes_write)
        check_page_size(first, "first")
        if status is not None and status not in (
            "received",
            "processed",
            "quarantined",
            "discarded",
        ):
            from helpline.errors import ValidationFailed

            raise ValidationFailed(
                "Unknown status.",
                errors=[{"loc": ["args", "status"], "msg": "unknown status", "type": "enum"}],
            )
        async with ctx.db() as session:
            page = await mail_service.list_inbound_emails(
                session,
                principal,
                status=status,
                mailbox_id=None,
                limit=first,
                cursor=after,
                cursor_secret=ctx.cursor_secret,
            )
        edges = [
            Edge(
                cursor=mail_service.inbound_cursor(ctx.cursor_secret, r),
                node=InboundEmail.from_row(r),
            )
            for r in page.rows
        ]
        return Connection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.next_cursor is not None, end_cursor=page.next_cursor
            ),
        )


@strawberry.type
class MailMutation:
    @strawberry.mutation(description="Create a mailbox (as `POST /api/v1/mailboxes`).")
    async def create_mailbox(self, info: Info, input: CreateMailboxInput) -> CreatedMailbox:
        ctx = info.context
        principal = ctx.require(Scope.mailboxes_write)
        data = build(MailboxCreate, _values(input))
        async with ctx.db() as session:
            row, secret = await mail_service.create_mailbox(
                session, principal, data, Vault.from_settings(ctx.settings)
            )
        return CreatedMailbox(mailbox=Mailbox.from_row(row), inbound_secret=secret)

    @strawberry.mutation(description="Change or disable a mailbox (as `PATCH`).")
    async def update_mailbox(self, info: Info, input: UpdateMailboxInput) -> Mailbox:
        ctx = info.context
        principal = ctx.require(Scope.mailboxes_write)
        values = _values(input)
        mailbox_id = parse_id(values.pop("id"), "id")
        data = build(MailboxUpdate, values)
        async with ctx.db() as session:
            row = await mail_service.update_mailbox(
                session,
                principal,
                mailbox_id,
                data,
                Vault.from_settings(ctx.settings),
                now=ctx.clock(),
            )
        return Mailbox.from_row(row)

    @strawberry.mutation(description="Disable a mailbox (no more mail is taken).")
    async def disable_mailbox(self, info: Info, input: MailRefInput) -> Mailbox:
        ctx = info.context
        principal = ctx.require(Scope.mailboxes_write)
        async with ctx.db() as session:
            row = await mail_service.update_mailbox(
                session,
                principal,
                parse_id(input.id, "id"),
                MailboxUpdate(is_active=False),
                Vault.from_settings(ctx.settings),
                now=ctx.clock(),
            )
        return Mailbox.from_row(row)

    @strawberry.mutation(description="Process a quarantined email again.")
    async def replay_inbound_email(self, info: Info, input: MailRefInput) -> InboundEmail:
        ctx = info.context
        principal = ctx.require(Scope.mailboxes_write)
        async with ctx.db() as session:
            row = await mail_service.replay_inbound_email(
                session, principal, parse_id(input.id, "id")
            )
        return InboundEmail.from_row(row)

    @strawberry.mutation(description="Discard a quarantined email (kept, never processed).")
    async def discard_inbound_email(self, info: Info, input: MailRefInput) -> InboundEmail:
        ctx = info.context
        principal = ctx.require(Scope.mailboxes_write)
        async with ctx.db() as session:
            row = await mail_service.discard_inbound_email(
                session, principal, parse_id(input.id, "id"), now=ctx.clock()
            )
        return InboundEmail.from_row(row)
