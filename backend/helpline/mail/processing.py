"""Processing a stored message: parse, thread, write the ticket or message with its attachments —
in one transaction, so a crash at any point means the job runs again and produces exactly one
result (the row's status says whether it is done).

Threading, in this order (the reason is stored on the inbound row):
(a) ``reply_token``: our signed Reply-To address among the recipients, verified for the sender;
(b) ``references``: In-Reply-To/References naming a Message-ID we sent or ingested for a ticket;
(c) ``subject``: a ``[#1234]`` tag;
(d) ``new_ticket``.
(a)-(c) only when the sender is a participant — the ticket's customer, or staff — so nobody who
is not lands in someone else's ticket; otherwise the next rule applies (finally a new ticket).
A closed ticket is terminal: mail about it opens a new ticket that names it.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.attachment import service as attachment_service
from helpline.attachment.storage import StorageBackend
from helpline.attachment.upload import UploadLimits
from helpline.auth.permissions import ROLE_SCOPES
from helpline.auth.principal import SYSTEM_PRINCIPAL, Principal
from helpline.config import Settings
from helpline.conversation import service as conversation_service
from helpline.conversation.schemas import MessageCreate
from helpline.db import ActorContext, Database, UnitOfWork
from helpline.errors import HelplineError
from helpline.kit.clock import Clock
from helpline.kit.rows import AnyRow
from helpline.mail import outbox, repository
from helpline.mail.auto import AUTO_REPLY_KINDS, AutoKind
from helpline.mail.message import MailParseError, ParsedMail, parse_message
from helpline.mail.threading import find_reply_token, subject_ticket_number, ticket_title
from helpline.models import Mailbox
from helpline.models.enums import MessageChannel, Role, TicketStatus
from helpline.ticket import service as ticket_service
from helpline.ticket.schemas import TicketCreate, TicketUpdate
from helpline.user import service as user_service
from helpline.user.schemas import UserCreate

log = structlog.get_logger("helpline.mail")
ACTOR = ActorContext.system("mail")
MAX_TEXT = 100_000
STAFF = frozenset({Role.agent.value, Role.admin.value})
REOPENED_BY_CUSTOMER = frozenset({TicketStatus.pending.value, TicketStatus.solved.value})
OWN_MAIL = frozenset({AutoKind.own_loop_header, AutoKind.own_message_id})


class Quarantine(Exception):
    """The message cannot be processed as it is: kept, with the reason, for an admin."""

    sender: str | None = None

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:1000]


class Discard(Quarantine):
    """The message needs nothing done (our own mail coming back, a stray bounce)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    reason: str | None = None
    ticket_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None
    thread_reason: str | None = None
    sender: str | None = None


def reply_token_secret(settings: Settings) -> bytes:
    """The key of reply tokens, derived from the service's secret key."""
    return hmac.new(
        settings.secret_key.get_secret_value().encode(), b"helpline reply tokens v1", hashlib.sha256
    ).digest()


def principal_of(user: AnyRow) -> Principal:
    """The user as the author of a message that came by mail (their role's full rights)."""
    role = Role(user.role)
    return Principal(user_id=user.id, role=role, scopes=ROLE_SCOPES[role])


def _text(parsed: ParsedMail) -> str:
    text = (parsed.display_text or parsed.text or "").strip()
    if not text:
        text = "(no text)" if not parsed.attachments else "(attachments only)"
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 80] + "\n\n[… shortened; the full message is kept as received]"
    return text


@dataclass
class Processor:
    """Turns stored inbound mail into tickets and messages (the worker's job)."""

    database: Database
    settings: Settings
    storage: StorageBackend
    clock: Clock

    async def run(self, inbound_id: uuid.UUID) -> str:
        """Process one stored message unless that was done already; its status after."""
        async with self.database.unit_of_work(ACTOR) as uow:
            session = uow.session
            row = await repository.get_inbound(session, inbound_id, lock=True, raw=True)
            if row is None or row.status != "received":
                return "gone" if row is None else str(row.status)
            mailbox = await repository.get_mailbox(session, row.mailbox_id)
            if mailbox is None:  # pragma: no cover - the row cascades with its mailbox
                return "gone"
            mark = uow.effects_mark()
            try:
                async with session.begin_nested():
                    outcome = await self._process(uow, row, mailbox)
            except Quarantine as decision:
                uow.drop_effects(mark)  # what the savepoint did is gone: so are its effects
                outcome = Outcome(
                    status="discarded" if isinstance(decision, Discard) else "quarantined",
                    reason=decision.reason,
                    sender=decision.sender,
                )
            except DBAPIError:
                raise  # the database's trouble: the whole job rolls back and is retried
            except HelplineError as exc:  # a rule of a service refused it
                uow.drop_effects(mark)
                outcome = Outcome(status="quarantined", reason=f"{exc.slug}: {exc.detail}")
            except Exception as exc:  # a bug must not lose the message nor block the next
                log.exception("processing inbound email failed", inbound_id=str(inbound_id))
                uow.drop_effects(mark)
                outcome = Outcome(
                    status="quarantined", reason=f"error: {type(exc).__name__}: {exc}"
                )
            await uow.act_as(ACTOR)  # the sender acted in the savepoint; this is bookkeeping
            await repository.update_inbound(
                session,
                inbound_id,
                {
                    "status": outcome.status,
                    "reason": outcome.reason,
                    "ticket_id": outcome.ticket_id,
                    "conversation_id": outcome.conversation_id,
                    "thread_reason": outcome.thread_reason,
                    "sender": outcome.sender,
                    "attempts": row.attempts + 1,
                    "processed_at": self.clock(),
                },
            )
        log.info(
            "inbound email processed",
            inbound_id=str(inbound_id),
            status=outcome.status,
            reason=outcome.reason,
            thread=outcome.thread_reason,
        )
        return outcome.status

    async def _process(self, uow: UnitOfWork, row: AnyRow, mailbox: Mailbox) -> Outcome:
        domain = mailbox.address.rpartition("@")[2]
        try:
            parsed = parse_message(
                bytes(row.raw), max_bytes=self.settings.mail_max_bytes, own_domains=[domain]
            )
        except MailParseError as exc:
            raise Quarantine(f"unparseable: {exc}") from exc
        sender = parsed.sender.email
        if not sender:
            raise Quarantine("no_sender: the message names no sender")
        try:
            return await self._route(uow, row, mailbox, parsed)
        except Quarantine as decision:
            decision.sender = sender
            raise

    async def _route(
        self, uow: UnitOfWork, row: AnyRow, mailbox: Mailbox, parsed: ParsedMail
    ) -> Outcome:
        session = uow.session
        sender = parsed.sender.email
        if parsed.bounce is not None:
            return await self._bounce(session, parsed, sender)
        if parsed.auto in OWN_MAIL:
            raise Discard(f"own mail came back ({parsed.auto})")
        since = self.clock() - timedelta(seconds=self.settings.mail_flood_window_s)
        recent = await repository.count_recent_from(session, mailbox.id, sender, since, row.id)
        if recent >= self.settings.mail_flood_limit:
            raise Quarantine(
                f"flood: {recent} messages from {sender} within "
                f"{self.settings.mail_flood_window_s} s"
            )
        user = await user_service.get_user_by_email(session, sender)
        if user is not None and not user.is_active:
            raise Quarantine(f"inactive_sender: {sender} is deactivated")
        is_staff = user is not None and user.role in STAFF
        ticket, reason = await self._thread(session, mailbox, parsed, user, is_staff)
        automatic = parsed.auto is not None
        follow_up_of: AnyRow | None = None
        if ticket is not None and ticket.status == TicketStatus.closed.value:
            if automatic:
                raise Discard(
                    f"automatic mail ({parsed.auto}) about closed ticket #{ticket.number}"
                )
            follow_up_of, ticket = ticket, None
        if ticket is None:
            if automatic:
                raise Quarantine(f"automatic: {parsed.auto} mail that answers no ticket")
            if is_staff:
                raise Quarantine(f"staff_sender: {sender} wrote a new message, not a reply")
            if user is None:
                if not mailbox.allow_unknown_senders:
                    raise Quarantine(f"unknown_sender: {sender}")
                user = await self._new_customer(session, parsed)
            await uow.act_as(self._actor(user, row))
            ticket = await self._new_ticket(uow, mailbox, parsed, user, follow_up_of)
            reason = "new_ticket"
            new = True
        else:
            assert user is not None  # threading admits participants only
            await uow.act_as(self._actor(user, row))
            new = False
            if (
                user.id == ticket.customer_id
                and parsed.auto not in AUTO_REPLY_KINDS
                and ticket.status in REOPENED_BY_CUSTOMER
            ):
                await ticket_service.update_ticket(
                    uow,
                    SYSTEM_PRINCIPAL,
                    ticket.id,
                    TicketUpdate(status=TicketStatus.open),
                    None,
                )
        assert user is not None  # a participant (threaded) or the new ticket's customer
        message = await self._add_message(uow, parsed, user, ticket.id)
        if new and mailbox.auto_acknowledge and not automatic:
            await outbox.queue_acknowledgement(
                session, mailbox.id, ticket, mailbox.auto_acknowledge_template
            )
        return Outcome(
            status="processed",
            ticket_id=ticket.id,
            conversation_id=message.id,
            thread_reason=reason,
            sender=parsed.sender.email,
        )

    def _actor(self, user: AnyRow, row: AnyRow) -> ActorContext:
        """The sender acts (history and audit say who wrote); the request id names the mail."""
        return ActorContext(
            actor_type="user", actor_id=str(user.id), request_id=f"inbound-email:{row.id}"
        )

    async def _thread(
        self,
        session: AsyncSession,
        mailbox: Mailbox,
        parsed: ParsedMail,
        user: AnyRow | None,
        is_staff: bool,
    ) -> tuple[AnyRow | None, str | None]:
        """The ticket the mail belongs to and why, by the documented order; (None, None) when
        it opens a new ticket."""

        def participant(ticket: AnyRow | None) -> bool:
            return ticket is not None and (
                is_staff or (user is not None and user.id == ticket.customer_id)
            )

        sender = parsed.sender.email
        token = find_reply_token(
            reply_token_secret(self.settings),
            mailbox.address,
            [a.email for a in parsed.recipients],
            sender=sender,
        )
        if token is not None:
            ticket = await ticket_service.find_live_ticket(session, ticket_id=token.ticket_id)
            if participant(ticket):
                return ticket, "reply_token"
        referenced = [*parsed.in_reply_to, *reversed(parsed.references)]
        if referenced:
            found = {
                r.message_id: r.ticket_id
                for r in await repository.tickets_of_message_ids(session, referenced[:50])
            }
            for message_id in referenced:
                if message_id in found:
                    ticket = await ticket_service.find_live_ticket(
                        session, ticket_id=found[message_id]
                    )
                    if participant(ticket):
                        return ticket, "references"
        number = subject_ticket_number(parsed.subject)
        if number is not None:
            ticket = await ticket_service.find_live_ticket(session, number=number)
            if participant(ticket):
                return ticket, "subject"
        return None, None

    async def _new_customer(self, session: AsyncSession, parsed: ParsedMail) -> AnyRow:
        email = parsed.sender.email
        name = (parsed.sender.name or email.partition("@")[0]).strip()[:200] or email
        try:
            data = UserCreate(email=email, name=name, role=Role.customer)
        except ValueError as exc:
            raise Quarantine(f"unknown_sender: {email} is not a usable address") from exc
        return await user_service.create_user(session, data)

    async def _new_ticket(
        self,
        uow: UnitOfWork,
        mailbox: Mailbox,
        parsed: ParsedMail,
        customer: AnyRow,
        follow_up_of: AnyRow | None,
    ) -> AnyRow:
        description = _text(parsed)
        if follow_up_of is not None:
            description = (
                f"(Follow-up to the closed ticket #{follow_up_of.number}.)\n\n{description}"
            )[:MAX_TEXT]
        data = TicketCreate(
            title=ticket_title(parsed.subject),
            description=description,
            priority=mailbox.default_priority,
            assigned_to=mailbox.default_assignee,
            team_id=mailbox.default_team_id,
            customer_id=customer.id,
        )
        return await ticket_service.create_ticket(
            uow, SYSTEM_PRINCIPAL, data, mailbox_id=mailbox.id
        )

    async def _add_message(
        self, uow: UnitOfWork, parsed: ParsedMail, user: AnyRow, ticket_id: uuid.UUID
    ) -> Any:
        if len(parsed.attachments) > self.settings.mail_max_attachments:
            raise Quarantine(
                f"too_many_attachments: {len(parsed.attachments)} > "
                f"{self.settings.mail_max_attachments}"
            )
        limits = UploadLimits(
            max_bytes=self.settings.attachment_max_bytes,
            allowed_types=frozenset(self.settings.attachment_allowed_types),
        )
        ids = []
        for attachment in parsed.attachments:
            try:
                stored = await attachment_service.store_bytes(
                    uow.session, self.storage, user.id, attachment.data, attachment.filename, limits
                )
            except HelplineError as exc:
                raise Quarantine(
                    f"attachment_refused: {attachment.filename!r}: {exc.detail}"
                ) from exc
            ids.append(stored.id)
        return await conversation_service.add_message(
            uow,
            principal_of(user),
            ticket_id,
            MessageCreate(message=_text(parsed), attachment_ids=ids),
            channel=MessageChannel.email,
            mailer=outbox.queue_reply,  # an agent answering by mail: mailed on, as from the console
        )

    async def _bounce(self, session: AsyncSession, parsed: ParsedMail, sender: str) -> Outcome:
        """A delivery status notification: the outbound mail it names is bounced and, for a
        permanent failure, its recipient suppressed."""
        bounce = parsed.bounce
        assert bounce is not None
        original = (
            await repository.outbound_by_message_id(session, bounce.original_message_id)
            if bounce.original_message_id
            else None
        )
        if original is None:
            raise Discard("bounce: names no mail we sent")
        detail = " ".join(x for x in (bounce.status, bounce.diagnostic) if x) or "bounced"
        if bounce.permanent:
            await repository.update_outbound(
                session,
                original.id,
                {"status": "bounced", "error": detail[:1000], "updated_at": self.clock()},
            )
            for address in bounce.recipients or [original.to_address]:
                await repository.suppress(session, address, f"bounced: {detail}")
        return Outcome(
            status="processed",
            ticket_id=original.ticket_id,
            thread_reason="bounce",
            reason=None if bounce.permanent else f"delayed: {detail}"[:1000],
            sender=sender,
        )
