"""Parsing one raw RFC 5322 message into what the email channel needs (DESIGN §16).

``parse_message`` never trusts the input: charsets are decoded with fallbacks (``charsets``),
HTML is sanitized (``html``), MIME nesting and header sizes are capped, and anything the
standard library's parser chokes on degrades to less structure rather than an exception.
``MailParseError`` is raised only when there is no message at all (empty, no header, too big).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from helpline.mail import charsets
from helpline.mail.auto import AutoKind, Bounce, auto_kind, is_delivery_report, parse_bounce
from helpline.mail.html import html_to_text, sanitize_html
from helpline.mail.quotes import display_text
from helpline.mail.threading import is_forward_subject

__all__ = [
    "Address",
    "AutoKind",
    "Bounce",
    "MailParseError",
    "ParsedAttachment",
    "ParsedMail",
    "parse_message",
]

MAX_DEPTH = 24  # MIME nesting followed; deeper parts are skipped (defect "nesting_too_deep")
MAX_BOUNDARIES = 200  # more multipart boundaries than this: headers + raw body only
MAX_PARTS = 2000  # leaves visited in one message
MAX_HEADER_CHARS = 16_384  # of one header field's value
MAX_ADDRESSES = 500  # per address header
MAX_REFERENCES = 100
MAX_SUBJECT = 998
_POLICY = policy.default
_OUT_POLICY = policy.default.clone(refold_source="none", linesep="\r\n")


class MailParseError(Exception):
    """Nothing usable could be extracted; ``reason`` is a stable code for the quarantine."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True)
class Address:
    name: str
    email: str  # lower-cased


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None  # without <>
    inline: bool

    @property
    def size(self) -> int:
        return len(self.data)


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
    headers = _headers(message)
    if not headers:
        raise MailParseError("no_headers", "the data has no RFC 5322 header section")

    subject = charsets.storable(charsets.decode_header_text(_first(headers, "subject")))
    subject = subject[:MAX_SUBJECT]
    senders = (
        _addresses(headers.get("from", ()))
        or _addresses(headers.get("sender", ()))
        or _addresses(headers.get("return-path", ()))
    )
    sender = senders[0] if senders else Address("", "")
    to = _addresses(headers.get("to", ()))
    cc = _addresses(headers.get("cc", ()))
    recipients = _unique(
        to
        + cc
        + _addresses(headers.get("delivered-to", ()))
        + _addresses(headers.get("x-original-to", ()))
    )
    message_id = _message_id(_first(headers, "message-id"))
    references = _ids(" ".join(headers.get("references", ())))
    if len(references) > MAX_REFERENCES:
        references = [references[0], *references[-(MAX_REFERENCES - 1) :]]

    body = _Body(defects)
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
    return ParsedMail(
        message_id=message_id,
        in_reply_to=_ids(" ".join(headers.get("in-reply-to", ()))),
        references=references,
        subject=subject,
        sender=sender,
        reply_to=_addresses(headers.get("reply-to", ())),
        recipients=recipients,
        date=_date(_first(headers, "date")),
        text=text,
        html=charsets.storable(html) if html is not None else None,
        display_text=charsets.storable(display_text(text, forwarded=forwarded)),
        attachments=body.attachments,
        auto=auto_kind(
            headers,
            sender_email=sender.email,
            message_id=message_id,
            own_domains=own_domains,
            is_report=report,
        ),
        bounce=parse_bounce(message, _part_text) if report else None,
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


class _Body:
    """Collects the body text, HTML and attachments while walking the MIME tree."""

    def __init__(self, defects: list[str]) -> None:
        self.defects = defects
        self.text_parts: list[str] = []
        self.html_parts: list[str] = []  # sanitized
        self.html_sources: list[str] = []  # as sent, for the derived text
        self.attachments: list[ParsedAttachment] = []
        self.parts_seen = 0

    def defect(self, name: str) -> None:
        if name not in self.defects:
            self.defects.append(name)

    def walk(
        self, part: Message, depth: int, *, related_root: bool, resource: bool = False
    ) -> None:
        self.parts_seen += 1
        if self.parts_seen > MAX_PARTS:
            self.defect("too_many_parts")
            return
        if depth > MAX_DEPTH:
            self.defect("nesting_too_deep")
            return
        ctype = _content_type(part)
        if ctype.startswith("multipart/") and part.is_multipart():
            children = [p for p in part.get_payload() if isinstance(p, Message)]
            if ctype == "multipart/alternative":
                self._alternative(children, depth)
            elif ctype == "multipart/related" and children:
                root = _related_root(part, children)
                for child in children:
                    self.walk(child, depth + 1, related_root=True, resource=child is not root)
            else:
                for child in children:
                    self.walk(child, depth + 1, related_root=True, resource=resource)
            return
        self._leaf(part, ctype, resource=resource)

    def _alternative(self, children: list[Message], depth: int) -> None:
        branches = []
        for child in children:
            branch = _Body(self.defects)
            branch.parts_seen = self.parts_seen
            branch.walk(child, depth + 1, related_root=True)
            self.parts_seen = branch.parts_seen
            branches.append(branch)
        with_text = [b for b in branches if any(t.strip() for t in b.text_parts)]
        with_html = [b for b in branches if b.html_parts]
        if with_text:
            self.text_parts.extend(with_text[-1].text_parts)
        if with_html:
            self.html_parts.extend(with_html[-1].html_parts)
            self.html_sources.extend(with_html[-1].html_sources)
        for branch in branches:
            self.attachments.extend(branch.attachments)

    def _leaf(self, part: Message, ctype: str, *, resource: bool) -> None:
        disposition = _disposition(part)
        filename = _filename(part)
        content_id = _content_id(part)
        is_body_type = ctype in {"text/plain", "text/html"} or (
            ctype.startswith("multipart/")  # a multipart without a usable boundary
        )
        if is_body_type and not resource and disposition != "attachment" and not filename:
            data = _payload(part)
            if ctype == "text/html":
                source = _part_text(part, data)
                self.html_sources.append(source)
                self.html_parts.append(sanitize_html(source))
            else:
                self.text_parts.append(_part_text(part, data))
            return
        data = _payload(part)
        self.attachments.append(
            ParsedAttachment(
                filename=filename or _default_filename(part, ctype, len(self.attachments) + 1),
                content_type=ctype,
                data=data,
                content_id=content_id,
                inline=disposition == "inline" or (disposition is None and content_id is not None),
            )
        )


def _related_root(part: Message, children: list[Message]) -> Message:
    start = _param(part, "start")
    if start:
        wanted = start.strip().strip("<>")
        for child in children:
            if _content_id(child) == wanted:
                return child
    return children[0]


# --- parts -----------------------------------------------------------------------------------


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "application/octet-stream"


def _param(part: Message, name: str, header: str = "content-type") -> str | None:
    try:
        value = part.get_param(name, header=header)
    except Exception:
        return None
    if value is None:
        return None
    if isinstance(value, tuple):  # RFC 2231: (charset, language, value)
        charset, _, text = value
        raw = text.encode("latin-1", errors="surrogateescape") if isinstance(text, str) else b""
        return charsets.decode(raw, charset or "utf-8")
    return str(value)


def _disposition(part: Message) -> str | None:
    try:
        value = part.get_content_disposition()
    except Exception:
        return None
    return value.lower() if value else None


_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')


def _filename(part: Message) -> str | None:
    name = _param(part, "filename", "content-disposition") or _param(part, "name")
    if not name:
        return None
    name = charsets.storable(charsets.decode_header_text(name))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_FILENAME.sub("_", name).strip(" .")
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 250 - len(ext)] + dot + ext) if dot and len(ext) < 10 else name[:255]
    return name or None


def _default_filename(part: Message, ctype: str, number: int) -> str:
    if ctype == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            subject = charsets.decode_header_text(str(inner[0].get("Subject", "") or ""))
            subject = _UNSAFE_FILENAME.sub("_", subject.replace("/", "_")).strip(" .")[:100]
            if subject:
                return f"{subject}.eml"
        return f"message-{number}.eml"
    extension = {"message/delivery-status": ".txt", "text/rfc822-headers": ".txt"}.get(ctype)
    extension = extension or mimetypes.guess_extension(ctype) or ".bin"
    return f"part-{number}{extension}"


def _content_id(part: Message) -> str | None:
    try:
        value = part.get("Content-ID")
    except Exception:
        return None
    if not value:
        return None
    text = charsets.storable(charsets.fix_surrogates(str(value))).strip()
    match = re.search(r"<([^<>]{1,500})>", text)
    cid = match.group(1).strip() if match else text.strip("<> ")[:500]
    return cid or None


def _payload(part: Message) -> bytes:
    try:
        if part.is_multipart():
            payload = part.get_payload()
            blocks = payload if isinstance(payload, list) else []
            return b"".join(_message_bytes(block) for block in blocks if isinstance(block, Message))
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    try:
        raw = part.get_payload()
    except Exception:
        return b""
    return raw.encode("utf-8", errors="surrogateescape") if isinstance(raw, str) else b""


def _message_bytes(message: Message) -> bytes:
    try:
        return message.as_bytes(policy=_OUT_POLICY)
    except Exception:
        try:
            return str(message).encode("utf-8", errors="surrogateescape")
        except Exception:
            return b""


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_:.+-]{1,40})""", re.I)


def _part_text(part: Message, data: bytes | None = None) -> str:
    """The part's text: its declared charset (or the HTML's own meta tag), with fallbacks."""
    if data is None:
        data = _payload(part)
    label = None
    try:
        label = part.get_content_charset()
    except Exception:
        label = _param(part, "charset")
    if label is None and _content_type(part) == "text/html":
        meta = _META_CHARSET.search(data[:4096])
        label = meta.group(1).decode("ascii") if meta else None
    text = charsets.decode(data, label)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if (_param(part, "format") or "").lower() == "flowed":
        text = _unflow(text, delsp=(_param(part, "delsp") or "").lower() == "yes")
    return text


def _unflow(text: str, *, delsp: bool) -> str:
    """RFC 3676 format=flowed: soft line breaks (a trailing space) joined, per quote depth."""
    out: list[str] = []
    paragraph: str | None = None
    depth_of_paragraph = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):  # space-stuffing
            content = content[1:]
        if paragraph is not None and depth != depth_of_paragraph:
            out.append(">" * depth_of_paragraph + (" " if depth_of_paragraph else "") + paragraph)
            paragraph = None
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        paragraph = content if paragraph is None else paragraph + content
        depth_of_paragraph = depth
        if not flowed:
            out.append(">" * depth + (" " if depth else "") + paragraph)
            paragraph = None
    if paragraph is not None:
        out.append(">" * depth_of_paragraph + (" " if depth_of_paragraph else "") + paragraph)
    return "\n".join(out)


# --- headers ---------------------------------------------------------------------------------


def _headers(message: Message) -> dict[str, list[str]]:
    """Lower-case name → unfolded raw values (surrogate escapes kept for later decoding)."""
    headers: dict[str, list[str]] = {}
    try:
        items = list(message.raw_items())
    except Exception:
        return headers
    for name, value in items:
        key = str(name).strip().lower()
        if not key:
            continue
        text = value if isinstance(value, str) else str(value)
        if len(text) > MAX_HEADER_CHARS and key == "references":
            # the thread's root and its latest messages matter: keep both ends
            text = text.strip()
            text = text[:1024] + " " + text[-(MAX_HEADER_CHARS - 1025) :]
        text = re.sub(r"\r?\n[ \t]", " ", text[: MAX_HEADER_CHARS * 2])[:MAX_HEADER_CHARS]
        headers.setdefault(key, []).append(text.strip())
    return headers


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def _addresses(values: Collection[str]) -> list[Address]:
    found: list[Address] = []
    for value in values:
        text = charsets.fix_surrogates(value)
        try:
            pairs = getaddresses([text])
        except Exception:  # noqa: S112 - an unparseable address header names nobody
            continue
        for name, address in pairs:
            address = address.strip().strip("<>").strip()
            local, at, domain = address.rpartition("@")
            if (
                not at
                or not local
                or not domain
                or len(address) > 320
                or any(c.isspace() for c in address)
            ):
                continue
            display = charsets.decode_header_text(name).strip().strip('"').strip()
            found.append(
                Address(
                    name=charsets.storable(display)[:200], email=charsets.storable(address.lower())
                )
            )
            if len(found) >= MAX_ADDRESSES:
                return found
    return found


def _unique(addresses: list[Address]) -> list[Address]:
    seen: set[str] = set()
    out: list[Address] = []
    for address in addresses:
        if address.email not in seen:
            seen.add(address.email)
            out.append(address)
    return out


_ID = re.compile(r"<([^<>\s]{1,995})>")


def _message_id(value: str) -> str | None:
    value = charsets.storable(charsets.fix_surrogates(value)).strip()
    match = _ID.search(value)
    if match:
        return match.group(1)
    bare = value.strip("<>").strip()
    return bare if bare and " " not in bare and "@" in bare and len(bare) <= 995 else None


def _ids(value: str) -> list[str]:
    value = charsets.storable(charsets.fix_surrogates(value))
    seen: set[str] = set()
    ids: list[str] = []
    for found in _ID.findall(value):
        if found not in seen:
            seen.add(found)
            ids.append(found)
    return ids


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(charsets.fix_surrogates(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


_FORWARD_MARKER = re.compile(
    r"^(?:-{5,}\s*Forwarded message\s*-{5,}|Begin forwarded message:"
    r"|-{5,}\s*Forwarded Message\s*-{5,}|-{5,}\s*Weitergeleitete Nachricht\s*-{5,}"
    r"|-{5,}\s*Message transféré\s*-{5,})",
    re.IGNORECASE | re.MULTILINE,
)


def _has_forward_marker(text: str) -> bool:
    return _FORWARD_MARKER.search(text[:20_000]) is not None
