"""Where attachment bytes live: a small backend interface, a local directory and S3.

Blobs are content-addressed: the key is the SHA-256 of the bytes, so identical files are stored
once. Uploads are always spooled to a local temporary file first (hashed while written), then
handed to :meth:`StorageBackend.store`, which moves them to their address.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from helpline.config import Settings

CHUNK_BYTES = 256 * 1024
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class StoredBlob:
    key: str
    modified_at: datetime


class StorageBackend(Protocol):
    """The bytes of attachments, addressed by their SHA-256 hex digest."""

    spool_dir: Path

    async def store(self, source: Path, key: str) -> None:
        """Take ownership of ``source`` and make it the blob ``key`` (a no-op copy if present)."""

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes ``start``..``end`` (inclusive; None = to the end) of blob ``key``."""

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove blob ``key``; absent blobs are not an error."""

    def blobs(self) -> AsyncIterator[StoredBlob]:
        """Every stored blob with its last modification time (for garbage collection)."""


def spool_file(spool_dir: Path) -> tuple[Any, Path]:
    """A new temporary file in the spool directory (same filesystem as the blobs)."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=spool_dir)
    return os.fdopen(fd, "wb"), Path(name)


def _check_key(key: str) -> str:
    if not SHA256_RE.match(key):  # keys become paths: never let anything else through
        raise ValueError(f"not a SHA-256 storage key: {key!r}")
    return key


class LocalStorage:
    """Blobs under ``root/ab/cd/<sha256>``; uploads in progress under ``root/.spool``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.spool_dir = root / ".spool"

    def path_for(self, key: str) -> Path:
        key = _check_key(key)
        return self.root / key[:2] / key[2:4] / key

    async def store(self, source: Path, key: str) -> None:
        await asyncio.to_thread(self._store, source, self.path_for(key))

    @staticmethod
    def _store(source: Path, target: Path) -> None:
        if target.exists():
            # Dedup: keep the existing blob; refresh its time so gc's grace period restarts.
            os.utime(target)
            source.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(source, 0o640)
        os.replace(source, target)  # atomic on one filesystem: readers never see a partial blob

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        path = self.path_for(key)
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            await asyncio.to_thread(handle.seek, start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                size = CHUNK_BYTES if remaining is None else min(CHUNK_BYTES, remaining)
                chunk = await asyncio.to_thread(handle.read, size)
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_for(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path_for(key).unlink, True)

    async def blobs(self) -> AsyncIterator[StoredBlob]:
        found = await asyncio.to_thread(self._scan)
        for blob in found:
            yield blob

    def _scan(self) -> list[StoredBlob]:
        out: list[StoredBlob] = []
        if not self.root.is_dir():
            return out
        for path in self.root.glob("??/??/*"):
            if SHA256_RE.match(path.name) and path.is_file():
                mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                out.append(StoredBlob(key=path.name, modified_at=mtime))
        return out


class S3Storage:
    """Blobs as objects ``<prefix><sha256>`` in a bucket (boto3, run in worker threads)."""

    def __init__(self, client: Any, bucket: str, prefix: str, spool_dir: Path) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.spool_dir = spool_dir

    def object_key(self, key: str) -> str:
        return self.prefix + _check_key(key)

    async def store(self, source: Path, key: str) -> None:
        # Always upload, even when the object exists: it is the same content, and the upload
        # refreshes LastModified, which restarts gc's grace period for the blob.
        try:
            await asyncio.to_thread(
                self.client.upload_file, str(source), self.bucket, self.object_key(key)
            )
        finally:
            await asyncio.to_thread(remove_quietly, source)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        options: dict[str, Any] = {"Bucket": self.bucket, "Key": self.object_key(key)}
        if start or end is not None:
            options["Range"] = f"bytes={start}-{'' if end is None else end}"
        response = await asyncio.to_thread(self.client.get_object, **options)
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK_BYTES):
                yield chunk
        finally:
            body.close()

    async def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError  # type: ignore[import-untyped]

        try:
            await asyncio.to_thread(
                self.client.head_object, Bucket=self.bucket, Key=self.object_key(key)
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(
            self.client.delete_object, Bucket=self.bucket, Key=self.object_key(key)
        )

    async def blobs(self) -> AsyncIterator[StoredBlob]:
        found = await asyncio.to_thread(self._list)
        for blob in found:
            yield blob

    def _list(self) -> list[StoredBlob]:
        out: list[StoredBlob] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix) :]
                if SHA256_RE.match(name):
                    out.append(StoredBlob(key=name, modified_at=item["LastModified"]))
        return out


def s3_client(settings: Settings) -> Any:
    import boto3  # type: ignore[import-untyped]

    secret = settings.s3_secret_access_key
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
    )


def make_storage(settings: Settings) -> StorageBackend:
    """The backend the settings choose."""
    root = settings.attachment_root
    if settings.attachment_storage == "s3":
        if not settings.s3_bucket:
            raise ValueError("HELPLINE_S3_BUCKET is required when attachment_storage is s3")
        return S3Storage(
            s3_client(settings), settings.s3_bucket, settings.s3_prefix, root / ".spool"
        )
    return LocalStorage(root)


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def sweep_spool(spool_dir: Path, older_than: datetime) -> int:
    """Remove spool files of uploads that died mid-stream (crash, kill); how many."""
    removed = 0
    for path in spool_dir.glob("upload-*.part") if spool_dir.is_dir() else []:
        with contextlib.suppress(OSError):
            if datetime.fromtimestamp(path.stat().st_mtime, UTC) < older_than:
                path.unlink()
                removed += 1
    return removed
