""" "Test connection": log in to the mailbox's IMAP server and say EHLO to its SMTP server with
the stored credentials. The result names what failed, never a credential."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import unquote, urlsplit

from helpline.errors import MailboxConnectionFailed
from helpline.mail.schemas import ConnectionCheck, ConnectionTest


def _safe(exc: BaseException, *secrets: str | None) -> str:
    text = f"{type(exc).__name__}: {exc}"
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text[:500]


async def check_imap(url: str, timeout: float) -> ConnectionCheck:  # noqa: ASYNC109
    from helpline.mail.imap_loop import imap_source

    password = unquote(urlsplit(url).password or "")
    source: Any = None
    try:
        async with asyncio.timeout(timeout):
            source = await imap_source().connect(url)
            uidvalidity, uidnext = await source.select()
        return ConnectionCheck(
            ok=True, detail=f"logged in; folder UIDVALIDITY {uidvalidity}, next UID {uidnext}"
        )
    except Exception as exc:
        return ConnectionCheck(ok=False, detail=_safe(exc, password, url))
    finally:
        if source is not None:
            with contextlib.suppress(Exception):  # closing a test connection: the verdict stands
                await source.close()


async def check_smtp(url: str, timeout: float) -> ConnectionCheck:  # noqa: ASYNC109
    import aiosmtplib

    from helpline.mail.smtp import parse_smtp_url

    try:
        target = parse_smtp_url(url)
    except ValueError as exc:
        return ConnectionCheck(ok=False, detail=str(exc))
    if target.scheme == "log":
        return ConnectionCheck(ok=True, detail="log:// writes mail to the log (development)")
    client = aiosmtplib.SMTP(
        hostname=target.host,
        port=target.port,
        use_tls=target.scheme == "smtps",
        start_tls=target.scheme == "smtp+starttls",
        timeout=timeout,
    )
    try:
        await client.connect()
        await client.ehlo()
        if target.username:
            await client.login(target.username, target.password or "")
        detail = "EHLO accepted" + (" and logged in" if target.username else "")
        await client.quit()
        return ConnectionCheck(ok=True, detail=detail)
    except Exception as exc:
        client.close()
        return ConnectionCheck(ok=False, detail=_safe(exc, target.password, url))


async def test(secrets: Any, *, default_smtp_url: str, timeout: float) -> ConnectionTest:  # noqa: ASYNC109
    """Both checks, concurrently."""
    imap = check_imap(secrets.imap_url, timeout) if secrets.imap_url else None
    smtp = check_smtp(secrets.smtp_url or default_smtp_url, timeout)
    if imap is None:
        return ConnectionTest(imap=None, smtp=await smtp)
    imap_result, smtp_result = await asyncio.gather(imap, smtp)
    return ConnectionTest(imap=imap_result, smtp=smtp_result)


def raise_if_failed(result: ConnectionTest) -> None:
    """A failed check is a problem (`mailbox-connection-failed`) carrying every check's result."""
    parts = [("IMAP", result.imap), ("SMTP", result.smtp)]
    failed = [f"{name}: {check.detail}" for name, check in parts if check and not check.ok]
    if failed:
        raise MailboxConnectionFailed(
            "; ".join(failed)[:1000],
            imap=None if result.imap is None else result.imap.model_dump(),
            smtp=result.smtp.model_dump(),
        )
