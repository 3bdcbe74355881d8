"""Outgoing mail: a reply as an ``EmailMessage`` with every header threading and loop safety
need (DESIGN §16). Pure: the caller gives the Message-ID (stable across retries) and the date."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import format_datetime

from helpline.mail.message import Address
from helpline.mail.threading import LOOP_HEADER, tagged_subject

MAX_REFERENCES = 50


@dataclass(frozen=True)
class OutgoingAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None  # without <>; set for images the HTML shows as cid:…
    inline: bool = False


def compose_reply(
    *,
    from_address: Address,
    to: Sequence[Address],
    subject: str,
    message_id: str,
    date: datetime,
    text: str,
    ticket_number: int | None = None,
    html: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    reply_to: str | None = None,
    cc: Sequence[Address] = (),
    automatic: bool = False,
    loop_address: str | None = None,
    attachments: Sequence[OutgoingAttachment] = (),
) -> EmailMessage:
    """The message to send. Ids are given without ``<>``; ``subject`` gets ``[#number]``.

    ``references`` is the thread so far (oldest first); ``in_reply_to`` is appended to it when
    missing, and a long chain keeps its root and latest ids. ``automatic`` marks
    acknowledgements and other mail no person wrote (``Auto-Submitted: auto-replied``).
    """
    message = EmailMessage()
    message["From"] = _address(from_address)
    message["To"] = [_address(a) for a in to]
    if cc:
        message["Cc"] = [_address(a) for a in cc]
    if reply_to:
        message["Reply-To"] = _one_line(reply_to)
    line = _one_line(subject)
    message["Subject"] = tagged_subject(line, ticket_number) if ticket_number else line
    message["Date"] = format_datetime(date)
    message["Message-ID"] = f"<{_id(message_id)}>"
    chain = _chain(references, in_reply_to)
    if in_reply_to:
        message["In-Reply-To"] = f"<{_id(in_reply_to)}>"
    if chain:
        message["References"] = " ".join(f"<{i}>" for i in chain)
    if automatic:
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
    message[LOOP_HEADER] = _one_line(loop_address or from_address.email)
    message.set_content(text, charset="utf-8")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8")
        html_part = message.get_body(preferencelist=("html",))
        for attachment in attachments:
            if attachment.inline and attachment.content_id and isinstance(html_part, EmailMessage):
                maintype, _, subtype = attachment.content_type.partition("/")
                html_part.add_related(
                    attachment.data,
                    maintype=maintype,
                    subtype=subtype or "octet-stream",
                    cid=f"<{_id(attachment.content_id)}>",
                    filename=attachment.filename,
                    disposition="inline",
                )
    for attachment in attachments:
        if html is not None and attachment.inline and attachment.content_id:
            continue  # added to the HTML's multipart/related above
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message


def _one_line(value: str) -> str:
    # a CR or LF in a header value would let a customer-controlled string add headers
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def _id(value: str) -> str:
    return _one_line(value).strip("<>").replace(" ", "")


def _address(address: Address) -> HeaderAddress:
    """The header address; an internationalized domain in its ASCII (IDNA) form.

    A non-ASCII local part would need SMTPUTF8 end to end: ValueError, a permanent failure.
    """
    local, _, domain = _one_line(address.email).rpartition("@")
    if not local.isascii():
        raise ValueError(f"cannot mail {address.email!r}: a non-ASCII local part needs SMTPUTF8")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"cannot mail {address.email!r}: invalid domain") from None
    return HeaderAddress(display_name=_one_line(address.name), username=local, domain=domain)


def _chain(references: Sequence[str], in_reply_to: str | None) -> list[str]:
    chain: list[str] = []
    for value in [*references, *([in_reply_to] if in_reply_to else [])]:
        cleaned = _id(value)
        if cleaned and cleaned not in chain:
            chain.append(cleaned)
    if len(chain) > MAX_REFERENCES:
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
    return chain
