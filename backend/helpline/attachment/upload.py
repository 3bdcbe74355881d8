"""Receive one file from a streamed multipart/form-data body without holding it in memory.

The body is parsed incrementally (python-multipart's push parser); the bytes of the ``file`` part
are hashed and written to a spool file as they arrive, in batches of at most ``FLUSH_BYTES``, so
memory stays flat whatever the size. The size limit and the allowed types are enforced while
streaming: a file over the limit, or whose first bytes show a refused type, is abandoned at once
and its spool file removed — nothing is stored.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from helpline.attachment.content import SNIFF_BYTES, detect_content_type, sanitize_filename
from helpline.attachment.storage import remove_quietly, spool_file
from helpline.errors import (
    AttachmentTooLarge,
    BadRequest,
    UnsupportedAttachmentType,
    UnsupportedMediaType,
    ValidationFailed,
)

FILE_FIELD = "file"
FLUSH_BYTES = 1024 * 1024
# Room for the multipart framing and small fields around the file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class UploadLimits:
    max_bytes: int
    allowed_types: frozenset[str]


@dataclass(slots=True)
class ReceivedFile:
    """A complete, accepted upload waiting in the spool for its content address."""

    path: Path
    sha256: str
    size: int
    content_type: str
    filename: str


@dataclass(slots=True)
class _PartState:
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    headers: dict[str, bytes] = field(default_factory=dict)
    in_file: bool = False
    file_started: bool = False
    file_finished: bool = False
    filename: str | None = None
    pending: list[bytes] = field(default_factory=list)
    pending_bytes: int = 0
    received: int = 0


def _boundary(content_type: str | None) -> bytes:
    ctype, params = parse_options_header(content_type or "")
    if ctype != b"multipart/form-data":
        raise UnsupportedMediaType("Send the file as multipart/form-data in the field 'file'.")
    boundary = params.get(b"boundary")
    if not boundary or len(boundary) > 200:
        raise BadRequest("The multipart/form-data content type has no valid boundary.")
    return boundary


def _parser(boundary: bytes, state: _PartState) -> MultipartParser:
    def on_part_begin() -> None:
        state.headers = {}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state.header_field += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state.header_value += data[start:end]

    def on_header_end() -> None:
        state.headers[bytes(state.header_field).decode("latin-1").lower()] = bytes(
            state.header_value
        )
        state.header_field.clear()
        state.header_value.clear()

    def on_headers_finished() -> None:
        _, params = parse_options_header(state.headers.get("content-disposition", b""))
        if params.get(b"name") == FILE_FIELD.encode() and not state.file_started:
            state.in_file = state.file_started = True
            raw = params.get(b"filename")
            state.filename = raw.decode("utf-8", "replace") if raw is not None else None

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state.in_file:
            state.pending.append(bytes(data[start:end]))
            state.pending_bytes += end - start
            state.received += end - start

    def on_part_end() -> None:
        if state.in_file:
            state.in_file = False
            state.file_finished = True

    callbacks: Any = {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
    return MultipartParser(boundary, callbacks)


def _write(handle: Any, digest: Any, data: bytes) -> None:
    digest.update(data)
    handle.write(data)


async def receive_file(
    chunks: AsyncIterator[bytes],
    content_type: str | None,
    content_length: int | None,
    limits: UploadLimits,
    spool_dir: Path,
) -> ReceivedFile:
    """Stream the ``file`` part of a multipart body into the spool; enforce size and type."""
    boundary = _boundary(content_type)
    if content_length is not None and content_length > limits.max_bytes + MULTIPART_OVERHEAD_BYTES:
        raise AttachmentTooLarge(f"The attachment limit is {limits.max_bytes} bytes.")
    state = _PartState()
    parser = _parser(boundary, state)
    handle, path = await asyncio.to_thread(spool_file, spool_dir)
    digest = hashlib.sha256()
    detected: str | None = None
    head = bytearray()
    sniffed = 0  # pending pieces already copied into head
    try:
        async for chunk in chunks:
            try:
                parser.write(chunk)
            except MultipartParseError as exc:
                raise BadRequest("The multipart/form-data body is malformed.") from exc
            if state.received > limits.max_bytes:
                raise AttachmentTooLarge(f"The attachment limit is {limits.max_bytes} bytes.")
            if detected is None:
                while len(head) < SNIFF_BYTES and sniffed < len(state.pending):
                    head += state.pending[sniffed][: SNIFF_BYTES - len(head)]
                    sniffed += 1
                if len(head) >= SNIFF_BYTES:
                    detected = _accept_type(bytes(head), limits)
            if state.pending and (state.pending_bytes >= FLUSH_BYTES or state.file_finished):
                data = b"".join(state.pending)
                state.pending.clear()
                state.pending_bytes = sniffed = 0
                await asyncio.to_thread(_write, handle, digest, data)
        try:
            parser.finalize()
        except MultipartParseError as exc:
            raise BadRequest("The multipart/form-data body is malformed.") from exc
        if not state.file_finished:
            if state.file_started:
                raise BadRequest("The multipart/form-data body ended inside the file.")
            raise ValidationFailed(
                "No file in the field 'file'.",
                errors=[{"loc": ["body", FILE_FIELD], "msg": "field required", "type": "missing"}],
            )
        if state.received == 0:
            raise ValidationFailed(
                "The file is empty.",
                errors=[{"loc": ["body", FILE_FIELD], "msg": "empty file", "type": "empty"}],
            )
        if detected is None:
            detected = _accept_type(bytes(head), limits)
        if state.pending:
            await asyncio.to_thread(_write, handle, digest, b"".join(state.pending))
            state.pending.clear()
        await asyncio.to_thread(handle.close)
    except BaseException:
        await asyncio.to_thread(handle.close)
        await asyncio.to_thread(remove_quietly, path)
        raise
    return ReceivedFile(
        path=path,
        sha256=digest.hexdigest(),
        size=state.received,
        content_type=detected,
        filename=sanitize_filename(state.filename),
    )


def _accept_type(head: bytes, limits: UploadLimits) -> str:
    detected = detect_content_type(head)
    if detected not in limits.allowed_types:
        raise UnsupportedAttachmentType(
            f"Files of type {detected} are not accepted.", detected_type=detected
        )
    return detected


async def spool_bytes(
    data: bytes, filename: str | None, limits: UploadLimits, spool_dir: Path
) -> ReceivedFile:
    """A file that is already in memory, checked like an upload and written to the spool."""
    if len(data) > limits.max_bytes:
        raise AttachmentTooLarge(f"The attachment limit is {limits.max_bytes} bytes.")
    if not data:
        raise ValidationFailed("The file is empty.")
    detected = _accept_type(data[:SNIFF_BYTES], limits)
    handle, path = await asyncio.to_thread(spool_file, spool_dir)
    try:
        await asyncio.to_thread(handle.write, data)
        await asyncio.to_thread(handle.close)
    except BaseException:
        await asyncio.to_thread(handle.close)
        await asyncio.to_thread(remove_quietly, path)
        raise
    return ReceivedFile(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        content_type=detected,
        filename=sanitize_filename(filename),
    )
