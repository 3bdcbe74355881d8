"""The outbox: mail is written as a row in the transaction of what causes it (a staff reply, a
new ticket's acknowledgement) and sent by the worker — never from the request, never twice
with different Message-IDs (the id is fixed here, from the row's id)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.ids import new_id
from helpline.kit.rows import AnyRow
from helpline.mail import repository
from helpline.mail.threading import make_message_id, tagged_subject

MAX_REFERENCES = 20  # the first message and the latest ones: enough for every client


def references_of(thread: list[AnyRow]) -> tuple[str | None, list[str]]:
    """In-Reply-To (the customer's latest mail) and References (the chain, bounded) for a new
    mail in a ticket's thread."""
    ids = [r.message_id for r in thread]
    in_reply_to = next((r.message_id for r in reversed(thread) if r.inbound), None)
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return in_reply_to, ids


async def _queue(
    session: AsyncSession,
    *,
    ticket_id: uuid.UUID,
    mailbox_id: uuid.UUID,
    conversation_id: uuid.UUID | None,
    kind: str,
    body: str,
    subject: str | None = None,
) -> dict[str, Any] | None:
    context = await repository.reply_context(session, ticket_id, mailbox_id)
    if context is None:
        return None
    outbound_id = new_id()
    domain = context.mailbox_address.rpartition("@")[2]
    message_id = make_message_id(domain, f"outbound:{outbound_id}")
    in_reply_to, references = references_of(await repository.thread_messages(session, ticket_id))
    status, error = "queued", None
    if context.suppressed is not None:
        status, error = "failed", f"suppressed: {context.suppressed}"[:1000]
    elif not context.mailbox_active:
        status, error = "failed", "the mailbox is disabled"
    await repository.insert_outbound(
        session,
        {
            "id": outbound_id,
            "ticket_id": ticket_id,
            "conversation_id": conversation_id,
            "mailbox_id": mailbox_id,
            "kind": kind,
            "to_address": context.customer_email,
            "message_id": message_id,
            "in_reply_to": in_reply_to,
            "references": references,
            "subject": tagged_subject(subject or f"Re: {context.title}", context.number),
            "body": body,
            "status": status,
            "error": error,
        },
    )
    if status == "queued":
        await repository.defer_send(session, outbound_id)
    return {"status": status, "message_id": message_id, "error": error}


async def queue_reply(
    session: AsyncSession, mailbox_id: uuid.UUID, message: AnyRow
) -> dict[str, Any] | None:
    """Mail a public staff reply to the ticket's customer; its delivery state (None when the
    ticket is gone). A suppressed address gets no mail: the delivery is `failed` with why."""
    return await _queue(
        session,
        ticket_id=message.ticket_id,
        mailbox_id=mailbox_id,
        conversation_id=message.id,
        kind="reply",
        body=message.message,
    )


def acknowledgement_text(template: str, *, number: int, title: str) -> str:
    """The acknowledgement with `{number}` and `{title}` filled in (nothing else is expanded)."""
    return template.replace("{number}", str(number)).replace("{title}", title)


async def queue_acknowledgement(
    session: AsyncSession, mailbox_id: uuid.UUID, ticket: AnyRow, template: str
) -> dict[str, Any] | None:
    """The automatic acknowledgement of a ticket opened by mail (`Auto-Submitted:
    auto-replied`); never for automatic mail (the caller checks)."""
    return await _queue(
        session,
        ticket_id=ticket.id,
        mailbox_id=mailbox_id,
        conversation_id=None,
        kind="auto_acknowledgement",
        body=acknowledgement_text(template, number=ticket.number, title=ticket.title),
    )
