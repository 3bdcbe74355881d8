"""compose_reply: the headers threading and loop safety need, and a body that parses back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from helpline.mail.auto import AutoKind
from helpline.mail.compose import OutgoingAttachment, compose_reply
from helpline.mail.message import Address, parse_message
from helpline.mail.smtp import parse_smtp_url
from helpline.mail.threading import (
    find_reply_token,
    make_message_id,
    make_reply_token,
    reply_address,
)

pytestmark = pytest.mark.unit

MAILBOX = Address("ACME Support", "support@helpline.test")
CUSTOMER = Address("Zoë Çelik", "zoe@customer.test")
WHEN = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
SECRET = b"s" * 32


def reply(**overrides: object) -> bytes:
    ticket = uuid.UUID(int=7)
    arguments: dict[str, object] = {
        "from_address": MAILBOX,
        "to": [CUSTOMER],
        "subject": "Re: Printer jam",
        "ticket_number": 1234,
        "message_id": make_message_id("helpline.test", "message:1"),
        "date": WHEN,
        "text": "Hello Zoë,\n\nplease restart the printer.\n",
        "in_reply_to": "last@customer.test",
        "references": ["first@customer.test", "helpline.a@helpline.test"],
        "reply_to": reply_address(MAILBOX.email, make_reply_token(SECRET, ticket, CUSTOMER.email)),
    } | overrides
    return compose_reply(**arguments).as_bytes()  # type: ignore[arg-type]


def test_threading_headers_survive_a_round_trip() -> None:
    mail = parse_message(reply(), own_domains=["helpline.test"])
    assert mail.subject == "Re: Printer jam [#1234]"
    assert mail.message_id == make_message_id("helpline.test", "message:1")
    assert mail.in_reply_to == ["last@customer.test"]
    assert mail.references == [
        "first@customer.test",
        "helpline.a@helpline.test",
        "last@customer.test",
    ]
    assert mail.sender == MAILBOX
    assert mail.recipients[0] == CUSTOMER
    assert mail.date == WHEN
    assert mail.text == "Hello Zoë,\n\nplease restart the printer."
    # our own mail, if it ever comes back, is recognised as ours
    assert mail.auto == AutoKind.own_loop_header


def test_the_signed_reply_to_opens_the_ticket_for_the_customer_only() -> None:
    mail = parse_message(reply())
    (reply_to,) = mail.reply_to
    found = find_reply_token(SECRET, MAILBOX.email, [reply_to.email], sender=CUSTOMER.email)
    assert found is not None
    assert found.ticket_id == uuid.UUID(int=7)


def test_automatic_mail_is_marked() -> None:
    raw = reply(automatic=True)
    assert b"Auto-Submitted: auto-replied" in raw
    assert parse_message(raw).auto == AutoKind.own_loop_header
    assert b"Auto-Submitted" not in reply()


def test_header_injection_is_neutralised() -> None:
    raw = reply(
        subject="Hi\r\nBcc: victim@x.test", to=[Address("Eve\nBcc: v@x.test", "eve@x.test")]
    )
    mail = parse_message(raw)
    header_lines = raw.split(b"\r\n\r\n", 1)[0].split(b"\n")
    assert not [line for line in header_lines if line.lower().startswith(b"bcc")]
    assert mail.subject == "Hi Bcc: victim@x.test [#1234]"
    assert [a.email for a in mail.recipients] == ["eve@x.test"]


def test_html_inline_images_and_attachments() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 50
    raw = reply(
        html='<p>See <img src="cid:logo@helpline.test"></p>',
        attachments=[
            OutgoingAttachment(
                "logo.png", "image/png", png, content_id="logo@helpline.test", inline=True
            ),
            OutgoingAttachment("report.pdf", "application/pdf", b"%PDF-1.4 x"),
        ],
    )
    mail = parse_message(raw)
    assert mail.html is not None
    assert 'src="cid:logo@helpline.test"' in mail.html
    assert mail.text.startswith("Hello Zoë")
    by_name = {a.filename: a for a in mail.attachments}
    assert by_name["logo.png"].content_id == "logo@helpline.test"
    assert by_name["logo.png"].data == png
    assert by_name["report.pdf"].data == b"%PDF-1.4 x"
    assert not by_name["report.pdf"].inline


def test_long_reference_chains_keep_root_and_latest() -> None:
    refs = [f"r{i}@x.test" for i in range(200)]
    mail = parse_message(reply(references=refs, in_reply_to="r199@x.test"))
    assert len(mail.references) == 50
    assert mail.references[0] == "r0@x.test"
    assert mail.references[-1] == "r199@x.test"


class TestSmtpUrls:
    @pytest.mark.parametrize(
        ("url", "scheme", "host", "port"),
        [
            ("smtp://mx.test", "smtp", "mx.test", 25),
            ("smtp+starttls://u:p@mx.test", "smtp+starttls", "mx.test", 587),
            ("smtps://mx.test:2465", "smtps", "mx.test", 2465),
            ("log://", "log", "", 0),
        ],
    )
    def test_schemes(self, url: str, scheme: str, host: str, port: int) -> None:
        target = parse_smtp_url(url)
        assert (target.scheme, target.host, target.port) == (scheme, host, port)

    def test_credentials_are_decoded_and_never_shown(self) -> None:
        target = parse_smtp_url("smtps://user%40x:p%3Ass@mx.test?verify=false&cafile=/ca.pem")
        assert (target.username, target.password, target.verify, target.cafile) == (
            "user@x",
            "p:ss",
            False,
            "/ca.pem",
        )
        assert "p:ss" not in repr(target)

    @pytest.mark.parametrize("url", ["http://mx.test", "smtp://", "smtp://mx.test:port"])
    def test_bad_urls(self, url: str) -> None:
        with pytest.raises(ValueError) as caught:
            parse_smtp_url(url)
        assert "secret" not in str(caught.value)


def test_internationalized_domains_go_out_in_ascii() -> None:
    mail = parse_message(reply(to=[Address("Jörg", "jorg@münchen.test")]))
    assert mail.recipients == [Address("Jörg", "jorg@xn--mnchen-3ya.test")]


def test_a_non_ascii_local_part_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="SMTPUTF8"):
        reply(to=[Address("", "jörg@example.test")])
