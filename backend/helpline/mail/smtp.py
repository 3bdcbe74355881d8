"""Sending one message through ``HELPLINE_SMTP_URL`` (DESIGN §16) with aiosmtplib.

URLs: ``smtp://[USER:PASS@]HOST[:25]`` (plain, no STARTTLS), ``smtp+starttls://…[:587]``
(STARTTLS required), ``smtps://…[:465]`` (TLS from the first byte), ``log://`` (development: the
message is logged, nothing is sent). Query parameters: ``cafile=/path`` trusts that CA bundle,
``verify=false`` skips certificate checks (test servers only), ``helo=name``.

Errors say whether retrying can help: ``SmtpPermanentError`` for 5xx replies (the message or a
recipient is refused), ``SmtpTemporaryError`` for 4xx replies, timeouts and connection failures.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import structlog

log = structlog.get_logger("helpline.mail")

SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465, "log": 0}


class SmtpError(Exception):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class SmtpTemporaryError(SmtpError):
    """Worth retrying later: 4xx, timeouts, refused or dropped connections."""


class SmtpPermanentError(SmtpError):
    """Retrying the same message will fail again: 5xx replies."""


@dataclass(frozen=True)
class SmtpTarget:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None
    cafile: str | None
    verify: bool
    helo: str | None

    def __repr__(self) -> str:  # never show the password
        return f"SmtpTarget({self.scheme}://{self.host}:{self.port})"


def parse_smtp_url(url: str) -> SmtpTarget:
    """The target of an SMTP URL, or ValueError naming what is wrong (never the password)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"unsupported SMTP URL scheme {scheme!r}: use one of {sorted(SCHEMES)}")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if scheme == "log":
        return SmtpTarget("log", "", 0, None, None, None, True, None)
    if not parts.hostname:
        raise ValueError("the SMTP URL has no host")
    try:
        port = parts.port or SCHEMES[scheme]
    except ValueError:
        raise ValueError("the SMTP URL's port is not a number") from None
    return SmtpTarget(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        cafile=query.get("cafile"),
        verify=query.get("verify", "true").lower() not in {"false", "0", "no"},
        helo=query.get("helo"),
    )


async def send(
    url: str,
    message: EmailMessage,
    *,
    timeout: float,  # noqa: ASYNC109 - per SMTP operation (aiosmtplib), not a deadline
    sender: str | None = None,
    recipients: Sequence[str] | None = None,
) -> None:
    """Send ``message`` (envelope from its headers unless given); raise the typed errors."""
    target = parse_smtp_url(url)
    if target.scheme == "log":
        log.info(
            "mail.logged_instead_of_sent",
            message_id=str(message.get("Message-ID", "")),
            to=str(message.get("To", "")),
            subject=str(message.get("Subject", "")),
            size=len(message.as_bytes()),
        )
        return
    context: ssl.SSLContext | None = None
    if target.scheme != "smtp":
        context = ssl.create_default_context(cafile=target.cafile)
        if not target.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    try:
        errors, _ = await aiosmtplib.send(
            message,
            sender=sender,
            recipients=list(recipients) if recipients is not None else None,
            hostname=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.scheme == "smtps",
            start_tls=target.scheme == "smtp+starttls",
            tls_context=context,
            local_hostname=target.helo,
            timeout=timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        raise _classify(
            min(codes) if codes else 550,
            "all recipients refused: "
            + "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients),
        ) from None
    except aiosmtplib.SMTPResponseException as exc:
        raise _classify(exc.code, f"{exc.code} {exc.message}") from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise SmtpTemporaryError(f"{type(exc).__name__}: {exc}") from None
    if errors:  # some recipients refused, the others accepted: the message went out
        log.warning(
            "mail.some_recipients_refused",
            message_id=str(message.get("Message-ID", "")),
            refused={k: f"{v.code} {v.message}" for k, v in errors.items()},
        )


def _classify(code: int, text: str) -> SmtpError:
    if 500 <= code < 600:
        return SmtpPermanentError(text, code)
    return SmtpTemporaryError(text, code)
