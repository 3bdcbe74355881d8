"""All SQL for attachments. Returns rows or None; the service raises typed errors."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

from helpline.kit.rows import AnyRow
from helpline.models import Attachment, Conversation

COLUMNS = (
    Attachment.id,
    Attachment.sha256,
    Attachment.filename,
    Attachment.content_type,
    Attachment.size,
    Attachment.storage_key,
    Attachment.uploaded_by,
    Attachment.created_at,
    Attachment.conversation_id,
)

# Advisory locks on blobs: uploads hold a shared lock on their blob's key until commit; gc takes
# the exclusive lock before deleting a blob, so it never deletes one that an upload is claiming.
BLOB_LOCK_NAMESPACE = 0x484C4154  # "HLAT"
# The lock key is the blob's first 32 bits (collisions only make two blobs share a lock).
LOCK_BLOB_SHARED_SQL = (
    "SELECT pg_advisory_xact_lock_shared(:ns, ('x' || substr(:key, 1, 8))::bit(32)::int)"
)
TRY_LOCK_BLOBS_SQL = (
    "SELECT k FROM unnest(:keys) AS k"
    " WHERE pg_try_advisory_xact_lock(:ns, ('x' || substr(k, 1, 8))::bit(32)::int)"
)


async def insert_attachment(session: AsyncSession, values: dict[str, Any]) -> AnyRow:
    stmt = insert(Attachment).values(**values).returning(*COLUMNS)
    return (await session.execute(stmt)).one()


async def get_attachment_with_message(
    session: AsyncSession, attachment_id: uuid.UUID
) -> AnyRow | None:
    """The attachment plus, when bound, its message's ticket id and internal flag."""
    stmt = (
        select(*COLUMNS, Conversation.ticket_id, Conversation.is_internal)
        .outerjoin(Conversation, Conversation.id == Attachment.conversation_id)
        .where(Attachment.id == attachment_id)
    )
    return (await session.execute(stmt)).first()


async def lock_unbound_uploads(
    session: AsyncSession, ids: list[uuid.UUID], uploaded_by: uuid.UUID
) -> list[AnyRow]:
    """Lock the caller's still-unbound uploads among ``ids`` (others are simply not returned)."""
    stmt = (
        select(*COLUMNS)
        .where(
            Attachment.id.in_(ids),
            Attachment.uploaded_by == uploaded_by,
            Attachment.conversation_id.is_(None),
        )
        .with_for_update()
    )
    return list((await session.execute(stmt)).all())


async def bind_to_message(
    session: AsyncSession, ids: list[uuid.UUID], conversation_id: uuid.UUID
) -> None:
    await session.execute(
        update(Attachment).where(Attachment.id.in_(ids)).values(conversation_id=conversation_id)
    )


async def delete_unbound_before(
    session: AsyncSession, cutoff: datetime, limit: int
) -> list[AnyRow]:
    """Delete up to ``limit`` uploads never bound and created before ``cutoff``.

    SKIP LOCKED: an upload that a message is binding right now is left alone.
    """
    victims = (
        select(Attachment.id)
        .where(Attachment.conversation_id.is_(None), Attachment.created_at < cutoff)
        .order_by(Attachment.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    stmt = (
        delete(Attachment)
        .where(Attachment.id.in_(victims))
        .returning(Attachment.id, Attachment.storage_key, Attachment.uploaded_by)
    )
    return list((await session.execute(stmt)).all())


async def lock_blob_shared(session: AsyncSession, key: str) -> None:
    """Hold a shared lock on blob ``key`` until the transaction ends."""
    await session.execute(text(LOCK_BLOB_SHARED_SQL), {"ns": BLOB_LOCK_NAMESPACE, "key": key})


async def try_lock_blobs_exclusive(session: AsyncSession, keys: list[str]) -> list[str]:
    """Lock (until the transaction ends) those of ``keys`` no upload holds; return them."""
    if not keys:
        return []
    stmt = text(TRY_LOCK_BLOBS_SQL).bindparams(bindparam("keys", type_=ARRAY(Text)))
    result = await session.execute(stmt, {"ns": BLOB_LOCK_NAMESPACE, "keys": keys})
    return [row[0] for row in result.all()]


async def referenced_storage_keys(session: AsyncSession, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    stmt = select(Attachment.storage_key).where(Attachment.storage_key.in_(keys)).distinct()
    return set((await session.execute(stmt)).scalars().all())
