"""Automatic mail and delivery reports: why a message must never get an automatic answer
(RFC 3834 and the conventions that predate it), and what a DSN (RFC 3464) says about which
message bounced for whom."""

from __future__ import annotations

import binascii
import quopri
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from enum import StrEnum

from helpline.mail import charsets
from helpline.mail.threading import LOOP_HEADER, is_own_message_id


class AutoKind(StrEnum):
    """Why a mail is automatic, most specific first."""

    own_loop_header = "own_loop_header"  # it went through Helpline: our loop header is on it
    own_message_id = "own_message_id"  # Helpline made it (our Message-ID shape and domain)
    bounce = "bounce"  # a delivery status notification (multipart/report)
    auto_submitted = "auto_submitted"  # RFC 3834 Auto-Submitted other than "no"
    x_autoreply = "x_autoreply"  # X-Autoreply / X-Autorespond / X-Autoresponder
    auto_response_suppress = "auto_response_suppress"  # Exchange: X-Auto-Response-Suppress
    precedence = "precedence"  # Precedence: bulk | junk | list | auto_reply
    list = "list"  # List-Id / List-Unsubscribe: mailing-list or bulk mail
    null_return_path = "null_return_path"  # Return-Path: <> (RFC 3834 §2)
    system_sender = "system_sender"  # MAILER-DAEMON, postmaster, no-reply, …-request, owner-…


# An out-of-office reply is automatic, but it is about the ticket: callers record these on the
# ticket (without reopening it) and drop or file the rest.
AUTO_REPLY_KINDS = frozenset({AutoKind.auto_submitted, AutoKind.x_autoreply})

Headers = Mapping[str, Sequence[str]]  # lower-case name → decoded values, in order

_SYSTEM_LOCAL = re.compile(
    r"^(?:mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|owner-.*|.*-request)$",
    re.IGNORECASE,
)
_SUPPRESS = {"all", "oof", "autoreply"}


def auto_kind(
    headers: Headers,
    *,
    sender_email: str,
    message_id: str | None,
    own_domains: Collection[str] = (),
    is_report: bool = False,
) -> AutoKind | None:
    """The first reason ``headers`` describe an automatic mail, or None for a person's mail."""

    def first(name: str) -> str | None:
        values = headers.get(name)
        return values[0].strip() if values else None

    def token(name: str) -> str:
        value = first(name) or ""
        return value.split(";", 1)[0].split("(", 1)[0].strip().lower()

    checks: list[tuple[AutoKind, Callable[[], bool]]] = [
        (AutoKind.own_loop_header, lambda: LOOP_HEADER.lower() in headers),
        (AutoKind.own_message_id, lambda: is_own_message_id(message_id, own_domains)),
        (AutoKind.bounce, lambda: is_report),
        (AutoKind.auto_submitted, lambda: token("auto-submitted") not in {"", "no"}),
        (
            AutoKind.x_autoreply,
            lambda: any(
                token(name) not in {"", "no", "false", "0"}
                for name in ("x-autoreply", "x-autorespond", "x-autoresponder")
            ),
        ),
        (
            AutoKind.auto_response_suppress,
            lambda: bool(
                {v.strip().lower() for v in (first("x-auto-response-suppress") or "").split(",")}
                & _SUPPRESS
            ),
        ),
        (
            AutoKind.precedence,
            lambda: token("precedence") in {"bulk", "junk", "list", "auto_reply"},
        ),
        (AutoKind.list, lambda: "list-id" in headers or "list-unsubscribe" in headers),
        (AutoKind.null_return_path, lambda: _null_return_path(headers.get("return-path", ()))),
        (AutoKind.system_sender, lambda: bool(_SYSTEM_LOCAL.match(sender_email.partition("@")[0]))),
    ]
    for kind, check in checks:
        if check():
            return kind
    return None


def _null_return_path(values: Sequence[str]) -> bool:
    return any(v.strip().replace(" ", "") in {"<>", ""} for v in values) if values else False


@dataclass(frozen=True)
class Bounce:
    """What a delivery status notification reports about a message Helpline (maybe) sent."""

    original_message_id: str | None  # without <>
    recipients: list[str]  # the failed (or delayed) final recipients, lower-cased
    status: str | None  # the enhanced status code, e.g. "5.1.1"
    diagnostic: str | None  # the remote server's words, e.g. "550 5.1.1 user unknown"
    permanent: bool  # a 5.x.x failure; False for delays (4.x.x, Action: delayed)
    action: str | None = None  # failed | delayed | delivered | relayed | expanded
    all_recipients: list[str] = field(default_factory=list)


_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,995})>")


def is_delivery_report(message: Message) -> bool:
    """A multipart/report DSN (RFC 3464), or a report-less message carrying a DSN part."""
    if message.get_content_type() != "multipart/report":
        return False
    report_type = str(message.get_param("report-type", "") or "").lower()
    if report_type in {"delivery-status", "global-delivery-status"}:
        return True
    return any(
        p.get_content_type() in {"message/delivery-status", "message/global-delivery-status"}
        for p in _children(message)
    )


def _children(message: Message) -> list[Message]:
    payload = message.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def parse_bounce(message: Message, decode_text: Callable[[Message], str]) -> Bounce | None:
    """The DSN's verdict, or None when ``message`` is no delivery report."""
    if not is_delivery_report(message):
        return None
    status_part = None
    original_headers: Message | None = None
    for part in _children(message):
        ctype = part.get_content_type()
        if ctype in {"message/delivery-status", "message/global-delivery-status"}:
            status_part = part
        elif (
            ctype in {"text/rfc822-headers", "message/rfc822", "message/rfc822-headers"}
            or ctype == "message/global-headers"
        ):
            original_headers = _original_headers(part, decode_text)
    blocks = _status_blocks(status_part, decode_text) if status_part is not None else []
    per_recipient = [b for b in blocks if "final-recipient" in b or "action" in b]
    failed = [b for b in per_recipient if b.get("action", "failed") in {"failed", "delayed"}]
    chosen = failed or per_recipient
    recipients = [
        _address_field(b.get("final-recipient") or b.get("original-recipient")) for b in chosen
    ]
    everyone = [
        _address_field(b.get("final-recipient") or b.get("original-recipient"))
        for b in per_recipient
    ]
    first = chosen[0] if chosen else {}
    action = first.get("action")
    status_match = _STATUS.search(first.get("status", "") or first.get("diagnostic-code", ""))
    status = status_match.group(0) if status_match else None
    permanent = any(
        b.get("action", "failed") == "failed" and not (b.get("status", "") or "").startswith("4")
        for b in chosen
    )
    diagnostic = first.get("diagnostic-code")
    if diagnostic and ";" in diagnostic:
        diagnostic = diagnostic.split(";", 1)[1].strip()
    original_id = None
    if original_headers is not None:
        original_id = _first_id(str(original_headers.get("Message-ID", "") or ""))
    if original_id is None:
        original_id = _first_id(str(message.get("In-Reply-To", "") or ""))
    return Bounce(
        original_message_id=original_id,
        recipients=[r for r in recipients if r],
        status=status,
        diagnostic=(diagnostic or None) and diagnostic[:1000],
        permanent=permanent,
        action=action,
        all_recipients=[r for r in everyone if r],
    )


def _first_id(value: str) -> str | None:
    match = _MESSAGE_ID.search(value)
    return match.group(1) if match else None


def _address_field(value: str | None) -> str:
    if not value:
        return ""
    _, _, address = value.rpartition(";")
    return address.strip().strip("<>").lower()


def _original_headers(part: Message, decode_text: Callable[[Message], str]) -> Message | None:
    from email import policy
    from email.parser import HeaderParser

    if part.get_content_type().startswith("message/") and part.is_multipart():
        children = _children(part)
        return children[0] if children else None
    try:
        return HeaderParser(policy=policy.default).parsestr(decode_text(part), headersonly=True)
    except Exception:  # hostile headers: the DSN is still useful without the original's id
        return None


def _status_blocks(part: Message, decode_text: Callable[[Message], str]) -> list[dict[str, str]]:
    encoding = str(part.get("Content-Transfer-Encoding", "") or "").strip().lower()
    if part.is_multipart() and encoding in {"base64", "quoted-printable"}:
        # the parser split the still-encoded text into "header blocks": undo, then decode
        encoded = "\n".join(
            "\n".join(f"{n}: {v}" for n, v in block.raw_items()) + "\n" + str(block.get_payload())
            for block in _children(part)
        )
        raw = encoded.encode("ascii", errors="ignore")
        try:
            data = binascii.a2b_base64(raw) if encoding == "base64" else quopri.decodestring(raw)
        except (binascii.Error, ValueError):
            data = b""
        text = charsets.decode(data, "utf-8")
    elif part.is_multipart():  # the parser split the fields into blocks of headers already
        lines: list[str] = []
        for block in _children(part):
            lines.extend(f"{name}: {value}" for name, value in block.raw_items())
            lines.append("")
        text = "\n".join(lines)
    else:
        text = decode_text(part)
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last: str | None = None
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, None
        elif line[0] in " \t" and last is not None:
            current[last] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            last = name.strip().lower()
            current[last] = " ".join(value.split())
            if last == "action":
                current[last] = current[last].lower()
    if current:
        blocks.append(current)
    return blocks


# --- plain-text bounces ---------------------------------------------------------------------
# Many MTAs (Exim, qmail, older sendmail and Exchange setups) return mail as a plain message
# instead of a multipart/report: recognised by who sends it (a system sender or a null
# Return-Path) *and* what it says (the subject or body of a non-delivery notice). A person's mail
# that merely quotes such a subject is not a bounce.
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:mail delivery failed|undelivered mail returned to sender|undeliver(?:able|ed)\b"
    r"|delivery status notification \((?:failure|delay)\)|failure notice|returned mail\b"
    r"|delivery failure|mail system error|message delivery failure|delivery has failed"
    r"|non[- ]?delivery|warning: message \S+ delayed)",
    re.IGNORECASE,
)
_BOUNCE_BODY = re.compile(
    r"(?:created automatically by mail delivery software|this is the qmail-send program"
    r"|could not be delivered to one or more (?:of its )?recipients"
    r"|wasn't able to deliver your message|has not yet been delivered to one or more"
    r"|the following addresses had permanent fatal errors"
    r"|delivery to the following recipients? failed)",
    re.IGNORECASE,
)
_COPY_MARKER = re.compile(
    r"^[ \t]*-{2,}[ \t]*(?:This is a copy of the message|Below this line is a copy of the message"
    r"|The header of the original message is following|Original message(?: follows)?"
    r"|Original message headers)[^\n]*$",
    re.IGNORECASE | re.MULTILINE,
)
_DELAYED = re.compile(
    r"\b(?:delayed|has not yet been delivered|will be retried|will keep trying)\b", re.IGNORECASE
)
# Bounded repeats: the text is the sender's to choose, and an unbounded local part would make
# a long run without "@" quadratic.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}"
)
_ID_LINE = re.compile(r"^Message-ID:[ \t]*<([^<>\s]{1,995})>", re.IGNORECASE | re.MULTILINE)
_SMTP_REPLY = re.compile(r"\b[45]\d\d[ -][^\n]{1,300}")
PLAIN_BOUNCE_SCAN = 50_000  # characters of the text looked at (the notice comes first)


def parse_plain_bounce(
    *,
    sender_email: str,
    subject: str,
    text: str,
    headers: Headers,
    in_reply_to: Sequence[str] = (),
    own_domains: Collection[str] = (),
) -> Bounce | None:
    """A non-delivery notice sent as plain text (Exim's "Mail delivery failed: returning
    message to sender", qmail's "failure notice", …): the failed recipients from the notice,
    the original Message-ID from the returned copy, or None when it is no such notice."""
    system = bool(_SYSTEM_LOCAL.match(sender_email.partition("@")[0]))
    if not (system or _null_return_path(headers.get("return-path", ()))):
        return None
    text = text[:PLAIN_BOUNCE_SCAN]
    if not (_BOUNCE_SUBJECT.search(subject or "") or _BOUNCE_BODY.search(text)):
        return None
    marker = _COPY_MARKER.search(text)
    notice = text[: marker.start()] if marker else text
    returned = text[marker.end() :] if marker else text
    found = _ID_LINE.search(returned)
    original_id = found.group(1) if found else (in_reply_to[0] if in_reply_to else None)
    own = {d.lower() for d in own_domains}
    recipients: list[str] = []
    for address in _PLAIN_ADDRESS.findall(notice):
        local, _, domain = address.lower().rpartition("@")
        if domain in own or _SYSTEM_LOCAL.match(local) or f"{local}@{domain}" in recipients:
            continue
        recipients.append(f"{local}@{domain}")
    for value in headers.get("x-failed-recipients", ()):  # Exim names them in a header too
        for address in _PLAIN_ADDRESS.findall(value):
            if address.lower() not in recipients:
                recipients.append(address.lower())
    status_match = _STATUS.search(notice)
    status = status_match.group(0) if status_match else None
    reply = _SMTP_REPLY.search(notice)
    diagnostic = " ".join(reply.group(0).split())[:1000] if reply else None
    delayed = bool(_DELAYED.search(subject or "")) or (status is not None and status[0] == "4")
    if not delayed and status is None:
        delayed = bool(_DELAYED.search(notice[:2000]))
    return Bounce(
        original_message_id=original_id,
        recipients=recipients,
        status=status,
        diagnostic=diagnostic,
        permanent=not delayed,
        action="delayed" if delayed else "failed",
        all_recipients=list(recipients),
    )
