"""All SQL of the email channel: mailboxes, raw inbound mail, the outbox, suppressions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.kit.rows import AnyRow
from helpline.models import EmailSuppression, InboundEmail, Mailbox, OutboundEmail

PROCESS_TASK = "helpline:process_inbound_email"
SEND_TASK = "helpline:send_email"


def _defer(queue: str, task: str) -> Any:
    """A job enqueued in the caller's transaction (dropped if it rolls back). A duplicate job
    is harmless: the job locks its row and does nothing when there is nothing left to do."""
    return text(
        f"SELECT procrastinate_defer_jobs_v1(ARRAY[ROW('{queue}', '{task}', 0, NULL, NULL,"
        " jsonb_build_object('id', CAST(:id AS text)),"
        " CAST(:scheduled_at AS timestamptz))::procrastinate_job_to_defer_v1])"
    )


DEFER_PROCESS = _defer("mail", PROCESS_TASK)
DEFER_SEND = _defer("mail", SEND_TASK)


async def defer_processing(
    session: AsyncSession, inbound_id: uuid.UUID, at: datetime | None = None
) -> None:
    """Queue the processing of a stored message."""
    await session.execute(DEFER_PROCESS, {"id": str(inbound_id), "scheduled_at": at})


async def defer_send(
    session: AsyncSession, outbound_id: uuid.UUID, at: datetime | None = None
) -> None:
    """Queue the sending of an outbox row."""
    await session.execute(DEFER_SEND, {"id": str(outbound_id), "scheduled_at": at})


# -- mailboxes -----------------------------------------------------------------------------
async def insert_mailbox(session: AsyncSession, values: dict[str, Any]) -> Mailbox:
    await session.execute(insert(Mailbox).values(**values))
    row = await get_mailbox(session, values["id"])
    if row is None:  # pragma: no cover - inserted just above
        raise LookupError("mailbox vanished after insert")
    return row


async def get_mailbox(
    session: AsyncSession, mailbox_id: uuid.UUID, *, lock: bool = False
) -> Mailbox | None:
    stmt = select(Mailbox).where(Mailbox.id == mailbox_id)
    if lock:
        stmt = stmt.with_for_update()
    return (
        await session.execute(stmt.execution_options(populate_existing=True))
    ).scalar_one_or_none()


async def get_mailbox_by_address(session: AsyncSession, address: str) -> Mailbox | None:
    stmt = select(Mailbox).where(func.lower(Mailbox.address) == address.lower())
    return (await session.execute(stmt)).scalar_one_or_none()


async def address_taken(
    session: AsyncSession, address: str, except_id: uuid.UUID | None = None
) -> bool:
    stmt = select(Mailbox.id).where(func.lower(Mailbox.address) == address.lower())
    if except_id is not None:
        stmt = stmt.where(Mailbox.id != except_id)
    return (await session.execute(stmt)).first() is not None


async def list_mailboxes(session: AsyncSession, *, imap_only: bool = False) -> list[Mailbox]:
    stmt = select(Mailbox).order_by(Mailbox.created_at, Mailbox.id)
    if imap_only:
        stmt = stmt.where(Mailbox.is_active.is_(True), Mailbox.imap_url_encrypted.is_not(None))
    return list((await session.execute(stmt)).scalars())


async def update_mailbox(
    session: AsyncSession, mailbox_id: uuid.UUID, values: dict[str, Any]
) -> None:
    await session.execute(update(Mailbox).where(Mailbox.id == mailbox_id).values(**values))


async def make_default(session: AsyncSession, mailbox_id: uuid.UUID, now: datetime) -> bool:
    """Make the mailbox the only default (the previous one stops being it); False when another
    transaction made a different one the default at the same time (the unique index says so)."""
    try:
        async with session.begin_nested():
            await session.execute(
                update(Mailbox)
                .where(Mailbox.is_default.is_(True), Mailbox.id != mailbox_id)
                .values(is_default=False, updated_at=now)
            )
            await session.execute(
                update(Mailbox)
                .where(Mailbox.id == mailbox_id)
                .values(is_default=True, updated_at=now)
            )
    except IntegrityError as exc:
        if "uq_mailboxes_one_default" in str(exc.orig):
            return False
        raise
    return True


# -- inbound -------------------------------------------------------------------------------
async def insert_inbound(session: AsyncSession, values: dict[str, Any]) -> AnyRow | None:
    """Store a raw message unless the mailbox has it already; the new row's id and status, or
    None when it is a duplicate."""
    stmt = (
        pg_insert(InboundEmail)
        .values(**values)
        .on_conflict_do_nothing(constraint="uq_inbound_emails_mailbox_dedupe")
        .returning(InboundEmail.id, InboundEmail.status)
    )
    return (await session.execute(stmt)).first()


async def find_inbound(session: AsyncSession, mailbox_id: uuid.UUID, dedupe_key: str) -> AnyRow:
    stmt = select(InboundEmail.id, InboundEmail.status).where(
        InboundEmail.mailbox_id == mailbox_id, InboundEmail.dedupe_key == dedupe_key
    )
    return (await session.execute(stmt)).one()


INBOUND_COLUMNS = tuple(c for c in InboundEmail.__table__.c if c.key != "raw")


async def get_inbound(
    session: AsyncSession, inbound_id: uuid.UUID, *, lock: bool = False, raw: bool = False
) -> AnyRow | None:
    columns = (*INBOUND_COLUMNS, InboundEmail.raw) if raw else INBOUND_COLUMNS
    stmt = select(*columns).where(InboundEmail.id == inbound_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).first()


async def list_inbound(
    session: AsyncSession,
    *,
    status: str | None,
    mailbox_id: uuid.UUID | None,
    before: uuid.UUID | None,
    limit: int,
) -> list[AnyRow]:
    """Newest first (ids are time-ordered), limit + 1 rows."""
    stmt = select(*INBOUND_COLUMNS)
    if status is not None:
        stmt = stmt.where(InboundEmail.status == status)
    if mailbox_id is not None:
        stmt = stmt.where(InboundEmail.mailbox_id == mailbox_id)
    if before is not None:
        stmt = stmt.where(InboundEmail.id < before)
    stmt = stmt.order_by(InboundEmail.id.desc()).limit(limit + 1)
    return list((await session.execute(stmt)).all())


async def update_inbound(
    session: AsyncSession, inbound_id: uuid.UUID, values: dict[str, Any]
) -> None:
    await session.execute(
        update(InboundEmail).where(InboundEmail.id == inbound_id).values(**values)
    )


# Only mail whose fate is decided: a received row still needs its bytes to be processed, and a
# quarantined one to be replayed.
PURGE_RAW = text(
    "UPDATE inbound_emails SET raw = NULL, raw_purged_at = :now WHERE id IN ("
    " SELECT id FROM inbound_emails WHERE raw_purged_at IS NULL AND received_at < :before"
    " AND status IN ('processed', 'discarded') ORDER BY received_at LIMIT :batch"
    " FOR UPDATE SKIP LOCKED)"
)


async def purge_raw(session: AsyncSession, before: datetime, now: datetime, batch: int) -> int:
    """Drop the raw bytes of up to ``batch`` decided messages received before ``before``."""
    result = await session.execute(PURGE_RAW, {"before": before, "now": now, "batch": batch})
    return int(result.rowcount)  # type: ignore[attr-defined]


async def count_recent_from(
    session: AsyncSession, mailbox_id: uuid.UUID, sender: str, since: datetime, not_id: uuid.UUID
) -> int:
    """Messages of ``sender`` to the mailbox that were processed since ``since`` (not this one)."""
    stmt = select(func.count()).where(
        InboundEmail.mailbox_id == mailbox_id,
        InboundEmail.sender == sender,
        InboundEmail.received_at >= since,
        InboundEmail.status == "processed",
        InboundEmail.id != not_id,
    )
    return int((await session.execute(stmt)).scalar_one())


async def tickets_of_message_ids(session: AsyncSession, message_ids: list[str]) -> list[AnyRow]:
    """(message_id, ticket_id) of every message we sent or ingested with one of these ids."""
    if not message_ids:
        return []
    sent = select(OutboundEmail.message_id, OutboundEmail.ticket_id).where(
        OutboundEmail.message_id.in_(message_ids)
    )
    received = select(InboundEmail.message_id, InboundEmail.ticket_id).where(
        InboundEmail.message_id.in_(message_ids), InboundEmail.ticket_id.is_not(None)
    )
    return list((await session.execute(sent.union_all(received))).all())


# -- outbox --------------------------------------------------------------------------------
async def insert_outbound(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(OutboundEmail).values(**values))


async def get_outbound(
    session: AsyncSession, outbound_id: uuid.UUID, *, lock: bool = False
) -> OutboundEmail | None:
    stmt = select(OutboundEmail).where(OutboundEmail.id == outbound_id)
    if lock:
        stmt = stmt.with_for_update(skip_locked=True)
    return (
        await session.execute(stmt.execution_options(populate_existing=True))
    ).scalar_one_or_none()


async def outbound_by_message_id(session: AsyncSession, message_id: str) -> OutboundEmail | None:
    stmt = select(OutboundEmail).where(OutboundEmail.message_id == message_id)
    return (
        await session.execute(stmt.execution_options(populate_existing=True))
    ).scalar_one_or_none()


async def update_outbound(
    session: AsyncSession, outbound_id: uuid.UUID, values: dict[str, Any]
) -> None:
    await session.execute(
        update(OutboundEmail).where(OutboundEmail.id == outbound_id).values(**values)
    )


async def deliveries(
    session: AsyncSession, conversation_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """The delivery state of each mailed message among ``conversation_ids``."""
    if not conversation_ids:
        return {}
    stmt = select(
        OutboundEmail.conversation_id,
        OutboundEmail.status,
        OutboundEmail.message_id,
        OutboundEmail.error,
    ).where(OutboundEmail.conversation_id.in_(conversation_ids))
    return {
        r.conversation_id: {"status": r.status, "message_id": r.message_id, "error": r.error}
        for r in await session.execute(stmt)
    }


# -- suppressions --------------------------------------------------------------------------
async def is_suppressed(session: AsyncSession, address: str) -> bool:
    stmt = select(EmailSuppression.address).where(EmailSuppression.address == address.lower())
    return (await session.execute(stmt)).first() is not None


async def suppress(session: AsyncSession, address: str, reason: str) -> None:
    stmt = (
        pg_insert(EmailSuppression)
        .values(address=address.lower(), reason=reason[:1000])
        .on_conflict_do_nothing(index_elements=["address"])
    )
    await session.execute(stmt)


async def list_suppressions(
    session: AsyncSession, after: str | None, limit: int
) -> list[EmailSuppression]:
    stmt = select(EmailSuppression).order_by(EmailSuppression.address).limit(limit + 1)
    if after is not None:
        stmt = stmt.where(EmailSuppression.address > after)
    return list((await session.execute(stmt)).scalars())


async def clear_suppression(session: AsyncSession, address: str) -> bool:
    result = await session.execute(
        delete(EmailSuppression).where(EmailSuppression.address == address.lower())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


REPLY_CONTEXT = text(
    "SELECT t.number, t.title, u.email AS customer_email, m.address AS mailbox_address,"
    " m.is_active AS mailbox_active, s.reason AS suppressed"
    " FROM tickets t JOIN users u ON u.id = t.customer_id"
    " JOIN mailboxes m ON m.id = :mailbox_id"
    " LEFT JOIN email_suppressions s ON s.address = lower(u.email)"
    " WHERE t.id = :ticket_id"
)


async def reply_context(
    session: AsyncSession, ticket_id: uuid.UUID, mailbox_id: uuid.UUID
) -> AnyRow | None:
    """What a mail about the ticket needs: number, title, the customer's address (and whether
    it is suppressed), the mailbox's address."""
    return (
        await session.execute(REPLY_CONTEXT, {"ticket_id": ticket_id, "mailbox_id": mailbox_id})
    ).first()


async def thread_messages(session: AsyncSession, ticket_id: uuid.UUID) -> list[AnyRow]:
    """(message_id, inbound) of the ticket's mail, oldest first."""
    rows = await session.execute(
        text(
            "SELECT message_id, inbound FROM ("
            " SELECT message_id, received_at AS at, true AS inbound FROM inbound_emails"
            "  WHERE ticket_id = :t AND message_id IS NOT NULL AND status = 'processed'"
            " UNION ALL SELECT message_id, created_at, false FROM outbound_emails"
            "  WHERE ticket_id = :t"
            ") m ORDER BY at"
        ),
        {"t": ticket_id},
    )
    return list(rows)
