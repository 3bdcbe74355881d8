"""REST endpoints for attachments: streamed multipart upload, descriptor, safe download."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response, status
from fastapi.responses import StreamingResponse

from helpline.attachment import service
from helpline.attachment.content import content_disposition
from helpline.attachment.schemas import AttachmentRead
from helpline.attachment.storage import StorageBackend
from helpline.attachment.upload import FILE_FIELD, UploadLimits
from helpline.auth.dependencies import TicketsRead, TicketsWrite
from helpline.config import Settings
from helpline.db import SessionDep, UnitOfWorkRoute, UowDep
from helpline.errors import (
    AttachmentNotFound,
    AttachmentTooLarge,
    PermissionDenied,
    RangeNotSatisfiable,
    UnsupportedAttachmentType,
)
from helpline.http import (
    IDEMPOTENT,
    UNSAFE,
    Documented,
    NotModified,
    if_none_match_hits,
    problem_responses,
)
from helpline.services import services

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/attachments", tags=["attachments"])

AttachmentId = Annotated[uuid.UUID, Path(description="Attachment id.")]
# Downloads are never rendered by the browser as part of our origin (stored-XSS defence in depth,
# on top of `attachment` disposition and the type being detected from the bytes).
DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "private, no-cache",
    "Accept-Ranges": "bytes",
}


def get_storage(request: Request) -> StorageBackend:
    """The process's storage backend (built from the settings in the app's lifespan)."""
    storage: StorageBackend = services(request).attachment_storage
    return storage


StorageDep = Annotated[StorageBackend, Depends(get_storage)]


def _responses(*problems: Documented, **overrides: str) -> dict[int | str, dict[str, Any]]:
    out = problem_responses(*problems)
    for code, text in overrides.items():
        out[int(code.removeprefix("s"))]["description"] = text
    return out


UPLOAD_BODY = {
    "required": True,
    "description": "`multipart/form-data` with the file in the field `file`; streamed to storage.",
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": [FILE_FIELD],
                "properties": {
                    FILE_FIELD: {
                        "type": "string",
                        "format": "binary",
                        "description": "The file. Its type is detected from the bytes; the "
                        "client's content type and extension are ignored.",
                    }
                },
            },
            "encoding": {FILE_FIELD: {"contentType": "application/octet-stream"}},
        }
    },
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Upload an attachment",
    description="Upload one file as `multipart/form-data` (field `file`). The body is streamed to "
    "storage, never held in memory. The type is detected from the bytes and must be one of the "
    "allowed types (setting `attachment_allowed_types`, else 415); files larger than "
    "`attachment_max_bytes` (default 25 MiB) get 413 and nothing is stored; empty files get "
    "422. The file name is sanitized (no path, no control characters, at most 200 characters). "
    "The upload stays private to the uploader until a message binds it with `attachment_ids` "
    "(`POST /tickets/{id}/conversations`); uploads not bound within 24 hours are deleted.",
    operation_id="uploadAttachment",
    openapi_extra={"requestBody": UPLOAD_BODY},
    response_description="The attachment's descriptor.",
    responses=_responses(
        PermissionDenied,
        *UNSAFE,
        *IDEMPOTENT,
        AttachmentTooLarge,
        UnsupportedAttachmentType,
        s413="The file exceeds the attachment size limit; nothing was stored.",
        s415="Not multipart/form-data, or the file's detected type is not allowed.",
    ),
)
async def upload_attachment(
    request: Request,
    session: SessionDep,
    principal: TicketsWrite,
    storage: StorageDep,
    response: Response,
) -> AttachmentRead:
    settings: Settings = services(request).settings
    length = request.headers.get("content-length")
    row = await service.upload_attachment(
        session,
        principal,
        storage,
        request.stream(),
        content_type=request.headers.get("content-type"),
        content_length=int(length) if length and length.isdigit() else None,
        limits=UploadLimits(
            max_bytes=settings.attachment_max_bytes,
            allowed_types=frozenset(settings.attachment_allowed_types),
        ),
    )
    response.headers["Location"] = f"/api/v1/attachments/{row.id}"
    return AttachmentRead.from_row(row)


def _descriptor_etag(row: Any) -> str:
    bound = row.conversation_id.hex if row.conversation_id else "unbound"
    return f'"{row.sha256[:32]}-{bound}"'


@router.get(
    "/{attachment_id}",
    summary="Get an attachment's descriptor",
    description="The descriptor of an attachment the caller may see: an unbound upload only by "
    "its uploader; a bound one with its message's visibility (customers: public messages of "
    "their own tickets). Anything else is 404.",
    operation_id="getAttachment",
    responses=_responses(
        PermissionDenied,
        AttachmentNotFound,
        s404="No such attachment, or it is not visible to the caller.",
    ),
)
async def get_attachment(
    attachment_id: AttachmentId,
    uow: UowDep,
    principal: TicketsRead,
    response: Response,
    if_none_match: Annotated[
        str | None, Header(max_length=1024, description="ETag of a cached copy → 304.")
    ] = None,
) -> AttachmentRead:
    row = await service.get_attachment(uow, principal, attachment_id)
    etag = _descriptor_etag(row)
    if if_none_match_hits(if_none_match, etag):
        raise NotModified(etag)
    response.headers["ETag"] = etag
    return AttachmentRead.from_row(row)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The single byte range ``header`` asks for, clamped; None = the whole file.

    Unknown units, malformed specs and multiple ranges are ignored (RFC 9110 allows serving the
    whole representation instead); a range that starts beyond the end raises 416.
    """
    if header is None or not header.strip().lower().startswith("bytes="):
        return None
    spec = header.strip()[6:].strip()
    first, sep, last = spec.partition("-")
    if not sep or "," in spec or not (first.isdigit() or first == ""):
        return None
    if last and not last.isdigit():
        return None
    if first == "":
        if not last:
            return None
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
    return start, min(end, size - 1)


BINARY = {"schema": {"type": "string", "format": "binary"}}


def _download_headers(row: Any, etag: str) -> dict[str, str]:
    return {
        **DOWNLOAD_HEADERS,
        "ETag": etag,
        "Content-Disposition": content_disposition(row.filename),
    }


@router.get(
    "/{attachment_id}/content",
    summary="Download an attachment",
    description="The bytes, with the same visibility as the descriptor. Always "
    "`Content-Disposition: attachment` (RFC 6266 `filename*` carries the exact name), "
    "`X-Content-Type-Options: nosniff` and `Content-Security-Policy: default-src 'none'; "
    "sandbox`. The ETag is the SHA-256 (`If-None-Match` → 304). One byte range per request "
    "(`Range: bytes=0-1023`, `bytes=1024-`, `bytes=-500`) → 206; a range past the end → 416; "
    "`If-Range` with a stale ETag returns the whole file.",
    operation_id="downloadAttachment",
    response_class=Response,
    responses={
        # The media type is the one detected at upload (image/png, application/pdf, ...).
        200: {"description": "The whole file.", "content": {"*/*": BINARY}},
        206: {
            "description": "The requested byte range (`Content-Range` says which).",
            "content": {"*/*": BINARY},
        },
        304: {"description": "The cached copy named by `If-None-Match` is current."},
        **_responses(
            PermissionDenied,
            AttachmentNotFound,
            RangeNotSatisfiable,
            s404="No such attachment, or it is not visible to the caller.",
        ),
        416: {
            **problem_responses(RangeNotSatisfiable)[416],
            "description": "The range starts beyond the end; `Content-Range: bytes */<size>`.",
        },
    },
)
async def download_attachment(
    attachment_id: AttachmentId,
    uow: UowDep,
    principal: TicketsRead,
    storage: StorageDep,
    range_: Annotated[
        str | None,
        Header(alias="Range", max_length=200, description="One byte range, e.g. `bytes=0-1023`."),
    ] = None,
    if_range: Annotated[
        str | None, Header(max_length=200, description="Apply `Range` only if this ETag matches.")
    ] = None,
    if_none_match: Annotated[
        str | None, Header(max_length=1024, description="ETag of a cached copy → 304.")
    ] = None,
) -> Response:
    row = await service.get_attachment(uow, principal, attachment_id)
    etag = f'"{row.sha256}"'
    if if_none_match_hits(if_none_match, etag):
        raise NotModified(etag)
    headers = _download_headers(row, etag)
    wanted = None if if_range is not None and if_range.strip() != etag else range_
    span = byte_range(wanted, row.size)
    if span is None:
        headers["Content-Length"] = str(row.size)
        return StreamingResponse(
            storage.read(row.storage_key), media_type=row.content_type, headers=headers
        )
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end}/{row.size}"
    headers["Content-Length"] = str(end - start + 1)
    return StreamingResponse(
        storage.read(row.storage_key, start, end),
        status_code=status.HTTP_206_PARTIAL_CONTENT,
        media_type=row.content_type,
        headers=headers,
    )


@router.head(
    "/{attachment_id}/content",
    summary="Check an attachment's content",
    description="The headers `GET …/content` would send for the whole file — `Content-Length`, "
    "`Content-Type`, `ETag`, `Content-Disposition` and the safety headers — without the body "
    "and without reading storage. `If-None-Match` with the current ETag → 304.",
    operation_id="headAttachmentContent",
    response_class=Response,
    responses={
        200: {"description": "The file exists and is visible; headers only."},
        304: {"description": "The cached copy named by `If-None-Match` is current."},
        **_responses(
            PermissionDenied,
            AttachmentNotFound,
            s404="No such attachment, or it is not visible to the caller.",
        ),
    },
)
async def head_attachment_content(
    attachment_id: AttachmentId,
    uow: UowDep,
    principal: TicketsRead,
    if_none_match: Annotated[
        str | None, Header(max_length=1024, description="ETag of a cached copy → 304.")
    ] = None,
) -> Response:
    row = await service.get_attachment(uow, principal, attachment_id)
    etag = f'"{row.sha256}"'
    if if_none_match_hits(if_none_match, etag):
        raise NotModified(etag)
    headers = {**_download_headers(row, etag), "Content-Length": str(row.size)}
    return Response(status_code=status.HTTP_200_OK, media_type=row.content_type, headers=headers)
