"""Attachment representations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

EXAMPLE: dict[str, Any] = {
    "id": "0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b30",
    "filename": "screenshot.png",
    "content_type": "image/png",
    "size": 48213,
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "created_at": "2026-11-20T10:01:12Z",
    "message_id": None,
}


class AttachmentRead(BaseModel):
    """An attachment's descriptor (the bytes are at `/attachments/{id}/content`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    id: uuid.UUID = Field(description="Attachment id (UUIDv7); pass it in `attachment_ids`.")
    filename: str = Field(description="Sanitized original file name.")
    content_type: str = Field(description="Type detected from the bytes (never the client's).")
    size: int = Field(description="Size in bytes.")
    sha256: str = Field(description="Hex SHA-256 of the bytes (also the download's ETag).")
    created_at: datetime = Field(description="When it was uploaded (UTC).")
    message_id: uuid.UUID | None = Field(
        description="Message it is bound to; null until a message lists it in `attachment_ids` "
        "(unbound uploads are removed after 24 hours)."
    )

    @classmethod
    def from_row(cls, row: Any) -> AttachmentRead:
        return cls(
            id=row.id,
            filename=row.filename,
            content_type=row.content_type,
            size=row.size,
            sha256=row.sha256,
            created_at=row.created_at,
            message_id=row.conversation_id,
        )


def descriptor(row: Any) -> dict[str, Any]:
    """The descriptor stored in `conversations.attachments` (JSON-ready)."""
    return {
        "id": str(row.id),
        "filename": row.filename,
        "content_type": row.content_type,
        "size": row.size,
        "sha256": row.sha256,
    }
