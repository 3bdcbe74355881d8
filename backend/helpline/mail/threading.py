"""Threading helpers (DESIGN §16), pure: signed reply addresses, the subject tag, ticket titles
from subjects, and stable Message-IDs for what Helpline sends.

The module is named for mail threading; it never imports the standard library's ``threading``.

Reply tokens: ``base32(ticket UUID ‖ HMAC-SHA256(secret, ticket ‖ recipient)[:8])``, lower-case,
39 characters, so ``support+<token>@example.com`` fits the 64-character local-part limit for
local parts up to 24 characters. Base32 is case-insensitive, so MTAs that case-fold local parts
cannot break a token. The MAC binds the token to the ticket *and* to the address it was sent to:
the token only opens the ticket when the reply comes from that address; a token copied into
someone else's mail, or the ticket UUID with a made-up MAC, is ignored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

LOOP_HEADER = "X-Helpline-Loop"
MESSAGE_ID_PREFIX = "helpline."

_TOKEN_CONTEXT = b"helpline-reply-token-v1\x00"
_MAC_BYTES = 8
TOKEN_LENGTH = 39  # base32 of 16 + 8 bytes, without padding


@dataclass(frozen=True)
class ReplyToken:
    ticket_id: UUID
    recipient: str  # the address the token was issued to (lower-cased) = the verified sender
    address: str  # the signed address it was found in


def _mac(secret: bytes, ticket_id: UUID, recipient: str) -> bytes:
    message = _TOKEN_CONTEXT + ticket_id.bytes + recipient.strip().lower().encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).digest()[:_MAC_BYTES]


def make_reply_token(secret: bytes, ticket_id: UUID, recipient: str) -> str:
    """The token for replies by ``recipient`` to ``ticket_id``: 39 lower-case base32 characters."""
    raw = ticket_id.bytes + _mac(secret, ticket_id, recipient)
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def reply_address(mailbox_address: str, token: str) -> str:
    """``local+<token>@domain`` for the mailbox ``local@domain``."""
    local, _, domain = mailbox_address.rpartition("@")
    return f"{local}+{token}@{domain}"


def find_reply_token(
    secret: bytes, mailbox_address: str, addresses: Iterable[str], *, sender: str
) -> ReplyToken | None:
    """The verified token among ``addresses`` (a mail's recipients) for a reply from ``sender``.

    Returns None when no address carries a token for this mailbox, or when none verifies for
    ``sender`` (a forwarded or forged token): the caller then threads by headers or subject.
    """
    local, _, domain = mailbox_address.strip().lower().rpartition("@")
    prefix = f"{local}+"
    for address in addresses:
        candidate = address.strip().lower()
        cand_local, _, cand_domain = candidate.rpartition("@")
        if cand_domain != domain or not cand_local.startswith(prefix):
            continue
        token = cand_local[len(prefix) :]
        ticket_id = _token_ticket(token)
        if ticket_id is None:
            continue
        expected = make_reply_token(secret, ticket_id, sender)
        if hmac.compare_digest(expected.encode("ascii"), token.encode("ascii")):
            return ReplyToken(
                ticket_id=ticket_id, recipient=sender.strip().lower(), address=candidate
            )
    return None


def _token_ticket(token: str) -> UUID | None:
    if len(token) != TOKEN_LENGTH or not token.isascii():
        return None
    try:
        raw = base64.b32decode(token.upper() + "=" * (-len(token) % 8))
    except ValueError:
        return None
    return UUID(bytes=raw[:16]) if len(raw) == 16 + _MAC_BYTES else None


_TAG = re.compile(r"\[#(\d{1,15})\]")


def subject_tag(number: int) -> str:
    return f"[#{number}]"


def subject_ticket_number(subject: str) -> int | None:
    """The ticket number of the last ``[#1234]`` tag in ``subject``, or None."""
    numbers = [int(m) for m in _TAG.findall(subject or "")]
    numbers = [n for n in numbers if n > 0]
    return numbers[-1] if numbers else None


def tagged_subject(subject: str, number: int) -> str:
    """``subject`` ending with the ticket's tag once (other tags of the ticket removed)."""
    tag = subject_tag(number)
    bare = " ".join(
        _TAG.sub(lambda m: "" if int(m.group(1)) == number else m.group(0), subject).split()
    )
    return f"{bare} {tag}" if bare else tag


# Reply and forward prefixes of the common clients and languages: Re, Fwd, Fw, AW/WG (German),
# SV/VS/VB/VL (Nordic), Antw/Doorst (Dutch), TR (French), RV (Spanish), R/Rif (Italian),
# Odp/PD (Polish), Res/Enc (Portuguese), Ynt/İlt (Turkish), Atb (Latvian), Vá (Hungarian), …
# optionally counted ("Re[2]:", "Re(3):") and with full-width colons.
_REPLY_PREFIXES = "re|aw|sv|vs|antw|antwort|odp|res|rif|r|ynt|atb|vá|ris|rép|отв|回复|答复|返信"
_FORWARD_PREFIXES = "fwd|fw|wg|tr|rv|vb|vl|enc|pd|doorst|ilt|İlt|fwds|转发|轉寄|転送"
_PREFIX = re.compile(
    rf"^\s*(?:{_REPLY_PREFIXES}|{_FORWARD_PREFIXES})\s*(?:\[\d+\]|\(\d+\))?\s*[:\uff1a]\s*",
    re.IGNORECASE,
)
_FORWARD = re.compile(
    rf"^\s*(?:{_FORWARD_PREFIXES})\s*(?:\[\d+\]|\(\d+\))?\s*[:\uff1a]", re.IGNORECASE
)
TITLE_MAX = 200
NO_SUBJECT = "(no subject)"


def strip_subject_prefixes(subject: str) -> str:
    """``subject`` without any number of leading reply/forward prefixes."""
    text = subject or ""
    for _ in range(50):  # bounded: a hostile subject may repeat "Re: " thousands of times
        stripped = _PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    else:
        text = re.sub(
            rf"^(?:\s*(?:{_REPLY_PREFIXES}|{_FORWARD_PREFIXES})\s*[:\uff1a])+", "", text, flags=re.I
        )
    return text


def is_forward_subject(subject: str) -> bool:
    """Whether the subject's first prefix marks a forward (Fwd:, FW:, WG:, TR:, …)."""
    return bool(_FORWARD.match(subject or ""))


def ticket_title(subject: str) -> str:
    """A ticket title from a mail subject: prefixes and tags gone, 1 to 200 characters."""
    text = _TAG.sub(" ", subject or "")
    text = strip_subject_prefixes(text)
    text = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    text = " ".join(text.split())
    if len(text) > TITLE_MAX:
        text = text[: TITLE_MAX - 1].rstrip() + "…"
    return text or NO_SUBJECT


def make_message_id(domain: str, key: str) -> str:
    """A Message-ID (without angle brackets) that is the same every time for ``key``."""
    digest = hashlib.sha256(b"helpline-message-id-v1\x00" + key.encode("utf-8")).digest()[:20]
    local = base64.b32encode(digest).decode("ascii").rstrip("=").lower()
    return f"{MESSAGE_ID_PREFIX}{local}@{domain.strip().lower()}"


def is_own_message_id(message_id: str | None, domains: Iterable[str]) -> bool:
    """Whether ``message_id`` has the shape ``make_message_id`` gives, for one of ``domains``."""
    if not message_id:
        return False
    local, _, domain = message_id.strip().strip("<>").lower().rpartition("@")
    return local.startswith(MESSAGE_ID_PREFIX) and domain in {d.strip().lower() for d in domains}
