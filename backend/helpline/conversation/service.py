"""Conversations: customers see public replies only; a closed ticket takes no new messages."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.attachment import service as attachment_service
from helpline.auth.principal import Principal
from helpline.conversation import repository
from helpline.conversation.schemas import MessageCreate
from helpline.db import UnitOfWork
from helpline.errors import PermissionDenied
from helpline.kit.ids import new_id
from helpline.kit.pagination import Keyset, KeysetPage, time_and_id, time_and_id_of
from helpline.kit.rows import AnyRow
from helpline.models.enums import MessageChannel, SenderType
from helpline.ticket import service as ticket_service
from helpline.ticket.access import visible_tickets

CURSOR_SORT = "conversation"


# Oldest first: the conversation's own order.
MESSAGE_KEYSET: Keyset[Any, tuple[datetime, uuid.UUID]] = Keyset(
    CURSOR_SORT, time_and_id_of(lambda r: r.timestamp), time_and_id(uuid.UUID)
)


# Mails a public staff reply on a ticket that came by mail: (session, mailbox id, message row) →
# the delivery state of the outbox row it wrote in this transaction, or None. The mail channel
# sits above conversations, so the composition root hands it in (AppServices.reply_mailer).
ReplyMailer = Callable[[AsyncSession, uuid.UUID, AnyRow], Awaitable[dict[str, Any] | None]]


def channel_of(principal: Principal) -> MessageChannel:
    """How a message of this caller arrives: the web interface (session) or the API (key)."""
    return MessageChannel.web if principal.session_id is not None else MessageChannel.api


async def add_message(
    uow: UnitOfWork,
    principal: Principal,
    ticket_id: uuid.UUID,
    data: MessageCreate,
    *,
    channel: MessageChannel | None = None,
    mailer: ReplyMailer | None = None,
) -> AnyRow:
    """Add a reply or (staff only) an internal note to a visible, open ticket. A public staff
    reply is also mailed to the customer by ``mailer`` when the ticket came by mail, or else
    when a default mailbox is set (an outbox row written in this transaction; its delivery
    state is the row's ``delivery``)."""
    session = uow.session
    if data.is_internal and principal.is_customer:
        raise PermissionDenied("Customers cannot write internal notes.")
    # Locks the ticket (404 unseen, 409 closed) and bumps its version, before the insert.
    mailbox_id = await ticket_service.change_open_ticket(uow, principal, ticket_id)
    attachments = await attachment_service.claim_uploads(session, principal, data.attachment_ids)
    message_id = new_id()
    row = await repository.insert_message(
        session,
        {
            "id": message_id,
            "ticket_id": ticket_id,
            "message": data.message,
            "sender_id": principal.user_id,
            "sender_type": (
                SenderType.customer if principal.is_customer else SenderType.agent
            ).value,
            "is_internal": data.is_internal,
            "attachments": attachments,
            "channel": (channel or channel_of(principal)).value,
        },
    )
    await attachment_service.bind_uploads(session, data.attachment_ids, message_id)
    if (
        mailer is not None
        and mailbox_id is not None
        and not data.is_internal
        and not principal.is_customer
    ):
        delivery = await mailer(session, mailbox_id, row)
        if delivery is not None:
            return with_delivery(row, delivery)
    return row


def with_delivery(row: AnyRow, delivery: dict[str, Any]) -> AnyRow:
    """The inserted message with the delivery state its outbox row just got."""
    # Duck-typed like the row (attribute access is all its readers use).
    return cast(AnyRow, SimpleNamespace(**{**row._mapping, "delivery": delivery}))


async def list_messages(
    uow: UnitOfWork,
    principal: Principal,
    ticket_id: uuid.UUID,
    limit: int,
    cursor: str | None,
    cursor_secret: bytes,
) -> KeysetPage[AnyRow]:
    """One page of a visible ticket's conversation, oldest first."""
    await ticket_service.get_ticket(uow, principal, ticket_id)
    after = MESSAGE_KEYSET.after(cursor_secret, cursor)
    rows = await repository.list_messages(
        uow.session, ticket_id, visible_tickets(principal).sees_internal, limit, after
    )
    return MESSAGE_KEYSET.page(cursor_secret, rows, limit)


async def messages_of_tickets(
    session: AsyncSession,
    principal: Principal,
    ticket_ids: list[uuid.UUID],
    per_ticket: int,
    *,
    newest: bool,
) -> dict[uuid.UUID, list[AnyRow]]:
    """The first (or, with ``newest``, the last) ``per_ticket`` visible messages of each ticket,
    in conversation order, for many tickets in one query (GraphQL DataLoaders)."""
    visibility = visible_tickets(principal)
    rows = await repository.list_messages_of_tickets(
        session,
        ticket_ids,
        include_internal=visibility.sees_internal,
        customer_id=visibility.customer_id,
        per_ticket=per_ticket,
        newest_first=newest,
    )
    out: dict[uuid.UUID, list[AnyRow]] = {ticket_id: [] for ticket_id in ticket_ids}
    for row in rows:
        out[row.ticket_id].append(row)
    return out


def message_cursor(cursor_secret: bytes, row: AnyRow) -> str:
    """The cursor that continues a conversation after ``row`` (same codec as the REST list)."""
    return MESSAGE_KEYSET.cursor(cursor_secret, row)
