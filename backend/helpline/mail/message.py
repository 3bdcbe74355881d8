"""Parsing one raw RFC 5322 message into what the email channel needs (DESIGN §16).

``parse_message`` never trusts the input: charsets are decoded with fallbacks (``charsets``),
HTML is sanitized (``html``), MIME nesting and header sizes are capped, and anything the
standard library's parser chokes on degrades to less structure rather than an exception.
``MailParseError`` is raised only when there is no message at all (empty, no header, too big).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import Message
from email.parser import BytesParser

from helpline.mail import charsets
from helpline.mail import headers as fields
from helpline.mail.auto import (
    AutoKind,
    Bounce,
    auto_kind,
    is_delivery_report,
    parse_bounce,
    parse_plain_bounce,
)
from helpline.mail.headers import MAX_ADDRESSES, MAX_HEADER_CHARS, Address
from helpline.mail.html import html_to_text
from helpline.mail.mime import MAX_DEPTH, MAX_PARTS, Body, ParsedAttachment, part_text
from helpline.mail.quotes import display_text
from helpline.mail.threading import is_forward_subject

__all__ = [
    "MAX_ADDRESSES",
    "MAX_BOUNDARIES",
    "MAX_DEPTH",
    "MAX_HEADER_CHARS",
    "MAX_PARTS",
    "Address",
    "AutoKind",
    "Bounce",
    "MailParseError",
    "ParsedAttachment",
    "ParsedMail",
    "parse_message",
]

MAX_BOUNDARIES = 200  # more multipart boundaries than this: headers + raw body only
MAX_REFERENCES = 100
MAX_SUBJECT = 998


class _HeaderClasses(HeaderRegistry):
    """The default header registry, but building each header class once, not on every access."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


_POLICY = policy.default.clone(header_factory=_HeaderClasses())


class MailParseError(Exception):
    """Nothing usable could be extracted; ``reason`` is a stable code for the quarantine."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None  # without <>
    in_reply_to: list[str]
    references: list[str]
    subject: str
    sender: Address  # Address("", "") when the mail names no sender at all
    reply_to: list[Address]
    recipients: list[Address]  # To + Cc + Delivered-To + X-Original-To, for reply tokens
    date: datetime | None
    text: str  # the full plain body (derived from the HTML when there is no text part)
    html: str | None  # sanitized
    display_text: str  # quoted history and signature trimmed
    attachments: list[ParsedAttachment]
    auto: AutoKind | None
    bounce: Bounce | None
    size: int
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    forwarded: bool = False
    defects: list[str] = field(default_factory=list)  # what was degraded: see MAX_* above


def parse_message(
    raw: bytes, *, max_bytes: int | None = None, own_domains: Collection[str] = ()
) -> ParsedMail:
    """Parse ``raw``; ``own_domains`` are the domains of Helpline's own Message-IDs."""
    if max_bytes is not None and len(raw) > max_bytes:
        raise MailParseError("too_large", f"{len(raw)} bytes, the limit is {max_bytes}")
    if not raw.strip():
        raise MailParseError("empty")
    defects: list[str] = []
    message = _parse(raw, defects)
    headers = fields.headers(message)
    if not headers:
        raise MailParseError("no_headers", "the data has no RFC 5322 header section")

    subject = charsets.storable(charsets.decode_header_text(fields.first(headers, "subject")))
    subject = subject[:MAX_SUBJECT]
    senders = (
        fields.addresses(headers.get("from", ()))
        or fields.addresses(headers.get("sender", ()))
        or fields.addresses(headers.get("return-path", ()))
    )
    sender = senders[0] if senders else Address("", "")
    to = fields.addresses(headers.get("to", ()))
    cc = fields.addresses(headers.get("cc", ()))
    recipients = fields.unique(
        to
        + cc
        + fields.addresses(headers.get("delivered-to", ()))
        + fields.addresses(headers.get("x-original-to", ()))
    )
    message_id = fields.message_id(fields.first(headers, "message-id"))
    references = fields.ids(" ".join(headers.get("references", ())))
    if len(references) > MAX_REFERENCES:
        references = [references[0], *references[-(MAX_REFERENCES - 1) :]]

    body = Body(defects)
    if "headers_only" in defects:
        body.text_parts.append(_raw_body_text(raw))
    else:
        body.walk(message, 0, related_root=True)
    html = "\n".join(body.html_parts) if body.html_parts else None
    text = "\n\n".join(t for t in body.text_parts if t.strip())
    if not text.strip() and body.html_sources:
        text = html_to_text("\n".join(body.html_sources))
    text = charsets.storable(text.strip("\n"))
    forwarded = is_forward_subject(subject) or _has_forward_marker(text)
    report = False if "headers_only" in defects else is_delivery_report(message)
    in_reply_to = fields.ids(" ".join(headers.get("in-reply-to", ())))
    bounce = parse_bounce(message, part_text) if report else None
    if not report:
        bounce = parse_plain_bounce(
            sender_email=sender.email,
            subject=subject,
            text=text,
            headers=headers,
            in_reply_to=in_reply_to,
            own_domains=own_domains,
        )
    return ParsedMail(
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        subject=subject,
        sender=sender,
        reply_to=fields.addresses(headers.get("reply-to", ())),
        recipients=recipients,
        date=fields.date(fields.first(headers, "date")),
        text=text,
        html=charsets.storable(html) if html is not None else None,
        display_text=charsets.storable(display_text(text, forwarded=forwarded)),
        attachments=body.attachments,
        auto=auto_kind(
            headers,
            sender_email=sender.email,
            message_id=message_id,
            own_domains=own_domains,
            is_report=bounce is not None,
        ),
        bounce=bounce,
        size=len(raw),
        to=to,
        cc=cc,
        forwarded=forwarded,
        defects=defects,
    )


# --- structure -------------------------------------------------------------------------------

_BOUNDARY = re.compile(rb"boundary\s*=", re.IGNORECASE)


def _parse(raw: bytes, defects: list[str]) -> Message:
    if len(_BOUNDARY.findall(raw, 0, len(raw))) > MAX_BOUNDARIES:
        defects.append("too_many_parts")
    else:
        try:
            return BytesParser(policy=_POLICY).parsebytes(raw)
        except Exception:  # the library's parser on hostile input (RecursionError, …)
            defects.append("mime_unparseable")
    defects.append("headers_only")
    try:
        return BytesParser(policy=_POLICY).parsebytes(raw, headersonly=True)
    except Exception as exc:
        raise MailParseError("unparseable", type(exc).__name__) from None


def _raw_body_text(raw: bytes) -> str:
    for separator in (b"\r\n\r\n", b"\n\n"):
        _head, found, rest = raw.partition(separator)
        if found:
            return charsets.decode(rest)
    return ""


_FORWARD_MARKER = re.compile(
    r"^(?:-{5,}\s*Forwarded message\s*-{5,}|Begin forwarded message:"
    r"|-{5,}\s*Forwarded Message\s*-{5,}|-{5,}\s*Weitergeleitete Nachricht\s*-{5,}"
    r"|-{5,}\s*Message transféré\s*-{5,})",
    re.IGNORECASE | re.MULTILINE,
)


def _has_forward_marker(text: str) -> bool:
    return _FORWARD_MARKER.search(text[:20_000]) is not None
