"""Raw first: every way in (HTTP, IMAP, CLI) stores the message and queues its processing in one
transaction, before anything acknowledges it upstream.

The same message is one row per mailbox whichever way it came: the row's key is its Message-ID,
or ``sha256:<hex>`` of the bytes when it has none. Only the header block is read here (cheap for a
30 MB message); the processing job parses the whole message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlalchemy.ext.asyncio import AsyncSession

from helpline.errors import InboundSignatureInvalid, MailboxDisabled, MailboxNotFound
from helpline.kit.ids import new_id
from helpline.mail import repository
from helpline.mail.vault import Vault, VaultError
from helpline.models import Mailbox

HEADER_END = re.compile(rb"\r?\n\r?\n")
MESSAGE_ID_RE = re.compile(r"<([^<>\s]{1,900})>")
SIGNATURE_TOLERANCE_S = 300
TOO_LARGE = "too_large"


@dataclass(frozen=True, slots=True)
class Stored:
    id: uuid.UUID
    status: str
    created: bool


def header_block(raw: bytes, limit: int = 256 * 1024) -> bytes:
    """The message's header block (at most ``limit`` bytes)."""
    match = HEADER_END.search(raw, 0, limit)
    return raw[: match.start()] if match else raw[:limit]


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID without <>, or None when the header is missing or unusable."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(header_block(raw))
    value = headers.get("Message-ID")
    if value is None:
        return None
    match = MESSAGE_ID_RE.search(str(value))
    if match:
        return match.group(1)
    bare = str(value).strip()
    return bare if bare and len(bare) <= 900 and not re.search(r"\s", bare) else None


def dedupe_key(message_id: str | None, sha256: str) -> str:
    return message_id if message_id else f"sha256:{sha256}"


async def store_raw(
    session: AsyncSession,
    mailbox: Mailbox,
    raw: bytes,
    source: str,
    *,
    max_bytes: int,
    imap_uidvalidity: int | None = None,
    imap_uid: int | None = None,
) -> Stored:
    """Keep the message (unless the mailbox has it already) and queue its processing.

    A message over ``max_bytes`` that came by IMAP or the CLI is kept and quarantined as
    ``too_large`` (it can be replayed after raising the limit); the HTTP endpoint refuses it
    before it gets here.
    """
    digest = hashlib.sha256(raw).hexdigest()
    message_id = message_id_of(raw)
    too_large = len(raw) > max_bytes
    row = await repository.insert_inbound(
        session,
        {
            "id": new_id(),
            "mailbox_id": mailbox.id,
            "raw": raw,
            "size": len(raw),
            "sha256": digest,
            "message_id": message_id,
            "dedupe_key": dedupe_key(message_id, digest),
            "source": source,
            "imap_uidvalidity": imap_uidvalidity,
            "imap_uid": imap_uid,
            "status": "quarantined" if too_large else "received",
            "reason": f"{TOO_LARGE}: {len(raw)} bytes > {max_bytes}" if too_large else None,
        },
    )
    if row is None:
        existing = await repository.find_inbound(
            session, mailbox.id, dedupe_key(message_id, digest)
        )
        return Stored(id=existing.id, status=existing.status, created=False)
    if row.status == "received":
        await repository.defer_processing(session, row.id)
    return Stored(id=row.id, status=row.status, created=True)


async def mailbox_for_ingest(session: AsyncSession, mailbox_id: uuid.UUID) -> Mailbox | None:
    return await repository.get_mailbox(session, mailbox_id)


async def mailbox_by_address(session: AsyncSession, address: str) -> Mailbox:
    """An active mailbox by address (the CLI's `--mailbox`)."""
    row = await repository.get_mailbox_by_address(session, address)
    if row is None:
        raise MailboxNotFound(f"No mailbox for {address}.")
    if not row.is_active:
        raise MailboxDisabled(f"The mailbox {row.address} is disabled.")
    return row


def verify_signature(
    secret: str,
    msg_id: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    now: datetime,
) -> None:
    """Standard Webhooks verification: any `v1,` signature of `{id}.{timestamp}.{body}` with
    the secret, and a timestamp within five minutes of now; else a 401 problem."""
    if not msg_id or not timestamp or not signature:
        raise InboundSignatureInvalid("webhook-id, webhook-timestamp and webhook-signature needed.")
    try:
        stamp = int(timestamp)
    except ValueError:
        raise InboundSignatureInvalid("webhook-timestamp is not a number.") from None
    if abs(now.timestamp() - stamp) > SIGNATURE_TOLERANCE_S:
        raise InboundSignatureInvalid("webhook-timestamp is too old or in the future.")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(
        hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    for entry in signature.split():
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return
    raise InboundSignatureInvalid()


async def verified_mailbox(
    session: AsyncSession,
    mailbox_id: uuid.UUID,
    vault: Vault,
    headers: tuple[str | None, str | None, str | None],
    body: bytes,
    *,
    now: datetime,
) -> Mailbox:
    """The mailbox whose secret signed this request. An unknown mailbox looks like a bad
    signature (no way to probe for ids); a disabled one is a 409 once the signature holds."""
    mailbox = await repository.get_mailbox(session, mailbox_id)
    if mailbox is None:
        raise InboundSignatureInvalid()
    try:
        secret = vault.decrypt(mailbox.inbound_secret_encrypted)
    except VaultError:
        raise InboundSignatureInvalid() from None
    verify_signature(secret, *headers, body, now=now)
    if not mailbox.is_active:
        raise MailboxDisabled()
    return mailbox
