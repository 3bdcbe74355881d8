"""Attachments: streamed uploads, binding to messages, visibility, garbage collection.

Rules:
- An upload is visible only to its uploader until a message binds it; from then on it has the
  visibility of that message (customers: their own tickets' public messages only).
- A message may bind only the author's *own* uploads that are not yet bound. Binding someone
  else's upload would let a caller publish (and so read) a file they cannot see, and binding an
  already-bound one would move it between tickets.
- Uploads never bound within 24 hours are deleted by ``helpline attachments gc``, which also
  removes blobs no attachment row references (blobs are shared by identical uploads).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from helpline.attachment import repository
from helpline.attachment.schemas import descriptor
from helpline.attachment.storage import StorageBackend, remove_quietly
from helpline.attachment.upload import ReceivedFile, UploadLimits, receive_file, spool_bytes
from helpline.auth.principal import Principal
from helpline.db import UnitOfWork
from helpline.errors import AttachmentNotBindable, AttachmentNotFound, TicketNotFound
from helpline.kit.ids import new_id
from helpline.kit.rows import AnyRow
from helpline.ticket import service as ticket_service
from helpline.ticket.access import visible_tickets

log = structlog.get_logger("helpline.attachments")

UNBOUND_TTL = timedelta(hours=24)
BLOB_GRACE = timedelta(hours=1)


async def upload_attachment(
    session: AsyncSession,
    principal: Principal,
    storage: StorageBackend,
    chunks: AsyncIterator[bytes],
    *,
    content_type: str | None,
    content_length: int | None,
    limits: UploadLimits,
) -> AnyRow:
    """Stream a multipart upload to storage and record it (unbound) for the caller."""
    received = await receive_file(chunks, content_type, content_length, limits, storage.spool_dir)
    try:
        return await _record(session, principal, storage, received)
    finally:
        remove_quietly(received.path)  # still there only if storing failed


async def _record(
    session: AsyncSession, principal: Principal, storage: StorageBackend, received: ReceivedFile
) -> AnyRow:
    # Held until commit: gc cannot delete this blob between our store and our row's commit.
    return await _record_for(session, principal.user_id, storage, received)


async def store_bytes(
    session: AsyncSession,
    storage: StorageBackend,
    uploader_id: uuid.UUID,
    data: bytes,
    filename: str | None,
    limits: UploadLimits,
) -> AnyRow:
    """Record a file that arrived whole (a mail's attachment) as an unbound upload of
    ``uploader_id``, under the same size and type rules as uploads (typed errors on refusal)."""
    received = await spool_bytes(data, filename, limits, storage.spool_dir)
    try:
        return await _record_for(session, uploader_id, storage, received)
    finally:
        remove_quietly(received.path)


async def _record_for(
    session: AsyncSession, uploader_id: uuid.UUID, storage: StorageBackend, received: ReceivedFile
) -> AnyRow:
    await repository.lock_blob_shared(session, received.sha256)
    await storage.store(received.path, received.sha256)
    return await repository.insert_attachment(
        session,
        {
            "id": new_id(),
            "sha256": received.sha256,
            "filename": received.filename,
            "content_type": received.content_type,
            "size": received.size,
            "storage_key": received.sha256,
            "uploaded_by": uploader_id,
        },
    )


async def get_attachment(uow: UnitOfWork, principal: Principal, attachment_id: uuid.UUID) -> AnyRow:
    """An attachment the caller may see (its message's visibility), or 404."""
    session = uow.session
    row = await repository.get_attachment_with_message(session, attachment_id)
    if row is None:
        raise AttachmentNotFound()
    if row.conversation_id is None:
        if row.uploaded_by != principal.user_id:
            raise AttachmentNotFound()
        return row
    if row.is_internal and not visible_tickets(principal).sees_internal:
        raise AttachmentNotFound()
    try:
        await ticket_service.get_ticket(uow, principal, row.ticket_id)
    except TicketNotFound:
        raise AttachmentNotFound() from None
    return row


async def claim_uploads(
    session: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> list[dict[str, Any]]:
    """Lock the caller's unbound uploads ``ids`` for binding; their descriptors, in order."""
    if not ids:
        return []
    errors = [
        {"loc": ["body", "attachment_ids", i], "msg": "listed twice", "type": "duplicate"}
        for i, ident in enumerate(ids)
        if ident in ids[:i]
    ]
    if errors:
        raise AttachmentNotBindable("An attachment is listed twice.", errors=errors)
    rows = {r.id: r for r in await repository.lock_unbound_uploads(session, ids, principal.user_id)}
    errors = [
        {
            "loc": ["body", "attachment_ids", i],
            "msg": "not an unbound upload of yours",
            "type": "not_bindable",
        }
        for i, ident in enumerate(ids)
        if ident not in rows
    ]
    if errors:
        raise AttachmentNotBindable(errors=errors)
    return [descriptor(rows[ident]) for ident in ids]


async def bind_uploads(session: AsyncSession, ids: list[uuid.UUID], message_id: uuid.UUID) -> None:
    """Bind uploads claimed with :func:`claim_uploads` to the (inserted) message."""
    if not ids:
        return
    # Upload, bind and delete events are recorded by the attachments_audit trigger (0004).
    await repository.bind_to_message(session, ids, message_id)


async def delete_stale_uploads(
    session: AsyncSession, now: datetime, *, ttl: timedelta = UNBOUND_TTL, limit: int = 1000
) -> int:
    """Delete up to ``limit`` uploads unbound for longer than ``ttl``; how many were deleted."""
    rows = await repository.delete_unbound_before(session, now - ttl, limit)
    return len(rows)


async def orphan_blob_candidates(
    storage: StorageBackend, now: datetime, *, grace: timedelta = BLOB_GRACE
) -> list[str]:
    """Blobs older than ``grace`` (a blob is young while an upload may still be claiming it)."""
    return [b.key async for b in storage.blobs() if b.modified_at < now - grace]


async def delete_orphan_blobs(
    session: AsyncSession, storage: StorageBackend, keys: list[str]
) -> list[str]:
    """Delete those of ``keys`` no attachment references and no upload is claiming."""
    locked = await repository.try_lock_blobs_exclusive(session, keys)
    # A separate statement after locking: its snapshot sees every upload committed before.
    referenced = await repository.referenced_storage_keys(session, locked)
    orphans = [k for k in locked if k not in referenced]
    for key in orphans:
        await storage.delete(key)
    return orphans
