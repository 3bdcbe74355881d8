"""mail.smtp.send against a real SMTP server (aiosmtpd): plain, STARTTLS, SMTPS with AUTH, the
log:// sink, and temporary vs permanent failures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from helpline.mail.compose import compose_reply
from helpline.mail.message import Address, parse_message
from helpline.mail.smtp import SmtpPermanentError, SmtpTemporaryError, send
from tests.fixtures.smtp_sink import PASSWORD, USER, SmtpSink, TlsSinks, free_port

pytestmark = pytest.mark.integration


def message(*to: str) -> object:
    return compose_reply(
        from_address=Address("ACME Support", "support@helpline.test"),
        to=[Address("", t) for t in to],
        subject="Printer jam",
        ticket_number=42,
        message_id="helpline.m1@helpline.test",
        date=datetime(2026, 12, 7, 9, 30, tzinfo=UTC),
        text="Hello,\nplease restart the printer.\n",
    )


async def test_plain_smtp_delivers_the_message(smtp_sink: SmtpSink) -> None:
    await send(smtp_sink.url, message("zoe@customer.test"), timeout=10)  # type: ignore[arg-type]
    (received,) = smtp_sink.wait_for(1)
    assert received.sender == "support@helpline.test"
    assert received.recipients == ["zoe@customer.test"]
    mail = parse_message(received.data)
    assert mail.message_id == "helpline.m1@helpline.test"
    assert mail.subject == "Printer jam [#42]"
    assert mail.text == "Hello,\nplease restart the printer."


async def test_starttls_with_auth(smtp_tls_sink: TlsSinks) -> None:
    url = smtp_tls_sink.starttls.url.replace("://", f"://{USER}:{PASSWORD}@")
    await send(url, message("zoe@customer.test"), timeout=10)  # type: ignore[arg-type]
    (received,) = smtp_tls_sink.starttls.wait_for(1)
    assert received.authenticated_as == USER
    assert parse_message(received.data).subject == "Printer jam [#42]"


async def test_smtps_with_auth(smtp_tls_sink: TlsSinks) -> None:
    url = smtp_tls_sink.smtps.url.replace("://", f"://{USER}:{PASSWORD}@")
    await send(url, message("zoe@customer.test"), timeout=10)  # type: ignore[arg-type]
    (received,) = smtp_tls_sink.smtps.wait_for(1)
    assert received.authenticated_as == USER


async def test_an_untrusted_certificate_is_refused(smtp_tls_sink: TlsSinks) -> None:
    url = smtp_tls_sink.starttls.url.split("?", 1)[0]  # no cafile: the system store
    with pytest.raises(SmtpTemporaryError):
        await send(url, message("zoe@customer.test"), timeout=10)  # type: ignore[arg-type]
    assert smtp_tls_sink.starttls.received == []


async def test_wrong_password_is_permanent(smtp_tls_sink: TlsSinks) -> None:
    url = smtp_tls_sink.starttls.url.replace("://", f"://{USER}:wrong@")
    with pytest.raises(SmtpPermanentError) as caught:
        await send(url, message("zoe@customer.test"), timeout=10)  # type: ignore[arg-type]
    assert caught.value.code == 535
    assert "wrong" not in str(caught.value)


async def test_plain_client_against_a_starttls_only_server_gets_no_mail_through(
    smtp_tls_sink: TlsSinks,
) -> None:
    url = "smtp://" + smtp_tls_sink.starttls.url.split("://", 1)[1].split("?", 1)[0]
    with pytest.raises((SmtpPermanentError, SmtpTemporaryError)):
        await send(url, message("zoe@customer.test"), timeout=10)  # type: ignore[arg-type]
    assert smtp_tls_sink.starttls.received == []


async def test_permanent_and_temporary_recipient_failures(smtp_sink: SmtpSink) -> None:
    with pytest.raises(SmtpPermanentError) as permanent:
        await send(smtp_sink.url, message("reject-5xx@customer.test"), timeout=10)  # type: ignore[arg-type]
    assert permanent.value.code == 550
    with pytest.raises(SmtpTemporaryError) as temporary:
        await send(smtp_sink.url, message("defer-4xx@customer.test"), timeout=10)  # type: ignore[arg-type]
    assert temporary.value.code == 451
    assert smtp_sink.received == []
    # one refused recipient among accepted ones: the message goes to the others
    await send(smtp_sink.url, message("reject-5xx@customer.test", "ok@customer.test"), timeout=10)  # type: ignore[arg-type]
    (received,) = smtp_sink.wait_for(1)
    assert received.recipients == ["ok@customer.test"]


async def test_nobody_listening_is_temporary() -> None:
    with pytest.raises(SmtpTemporaryError):
        await send(f"smtp://127.0.0.1:{free_port()}", message("zoe@customer.test"), timeout=5)  # type: ignore[arg-type]


async def test_log_sink_sends_nothing(
    smtp_sink: SmtpSink, capsys: pytest.CaptureFixture[str]
) -> None:
    await send("log://", message("zoe@customer.test"), timeout=5)  # type: ignore[arg-type]
    assert smtp_sink.received == []
