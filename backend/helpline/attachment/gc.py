"""Attachment garbage collection: uploads never bound to a message, then unreferenced blobs.

Run by the worker's schedule (``attachments_gc``) and by ``helpline attachments gc``. Safe beside
the API: stale uploads are deleted in small transactions with SKIP LOCKED (an upload being bound
right now is left alone), and a blob is deleted only under an exclusive advisory lock that
in-flight uploads of the same content hold shared until they commit.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from helpline.attachment import service
from helpline.attachment.storage import StorageBackend, sweep_spool
from helpline.db import ActorContext, Database

BATCH = 500
JOB = "attachments-gc"


@dataclass(frozen=True, slots=True)
class GcReport:
    uploads_deleted: int
    blobs_deleted: int
    spool_files_deleted: int


async def collect_garbage(
    database: Database,
    storage: StorageBackend,
    now: datetime,
    *,
    unbound_ttl: timedelta = service.UNBOUND_TTL,
    blob_grace: timedelta = service.BLOB_GRACE,
    batch: int = BATCH,
) -> GcReport:
    """The gc job: each batch is its own transaction, so a long run never holds locks for long."""
    actor = ActorContext.system(JOB)
    uploads = 0
    while True:
        async with database.transaction(actor) as session:
            deleted = await service.delete_stale_uploads(session, now, ttl=unbound_ttl, limit=batch)
        uploads += deleted
        if deleted < batch:
            break
    candidates = await service.orphan_blob_candidates(storage, now, grace=blob_grace)
    blobs = 0
    for i in range(0, len(candidates), batch):
        async with database.transaction(actor) as session:
            removed = await service.delete_orphan_blobs(session, storage, candidates[i : i + batch])
        blobs += len(removed)
    spool = await asyncio.to_thread(sweep_spool, storage.spool_dir, now - blob_grace)
    return GcReport(uploads_deleted=uploads, blobs_deleted=blobs, spool_files_deleted=spool)
