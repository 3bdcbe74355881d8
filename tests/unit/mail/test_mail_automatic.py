"""Loop and automatic-mail detection (RFC 3834 and conventions) and DSN parsing (RFC 3464)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpline.mail.auto import AUTO_REPLY_KINDS, AutoKind, auto_kind
from helpline.mail.message import parse_message
from helpline.mail.threading import make_message_id

pytestmark = pytest.mark.unit

CORPUS = Path(__file__).parents[2] / "fixtures" / "mail"


def kind_of(name: str, own: tuple[str, ...] = ("helpline.test",)) -> AutoKind | None:
    return parse_message((CORPUS / name).read_bytes(), own_domains=own).auto


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("out_of_office.eml", AutoKind.auto_submitted),
        ("out_of_office_legacy.eml", AutoKind.x_autoreply),
        ("list_mail.eml", AutoKind.list),
        ("bulk_precedence.eml", AutoKind.precedence),
        ("own_loop_header.eml", AutoKind.own_loop_header),
        ("own_message_id.eml", AutoKind.own_message_id),
        ("dsn_permanent.eml", AutoKind.bounce),
        ("dsn_delayed.eml", AutoKind.bounce),
        ("bounce_exim_plain.eml", AutoKind.bounce),
        ("bounce_qmail_plain.eml", AutoKind.bounce),
        ("bounce_exim_delayed.eml", AutoKind.bounce),
        ("not_a_bounce_subject.eml", None),  # a person asking about a bounce they got
        ("charset_utf8_8bit.eml", None),  # carries "Auto-Submitted: no"
        ("reply_outlook.eml", None),
    ],
)
def test_corpus_kinds(name: str, kind: AutoKind | None) -> None:
    assert kind_of(name) == kind


def test_own_message_id_needs_our_domain() -> None:
    assert kind_of("own_message_id.eml", own=("elsewhere.test",)) is None


def test_out_of_office_kinds_are_auto_replies() -> None:
    assert AutoKind.auto_submitted in AUTO_REPLY_KINDS
    assert AutoKind.list not in AUTO_REPLY_KINDS


def headers(**values: str) -> dict[str, list[str]]:
    return {k.replace("_", "-").lower(): [v] for k, v in values.items()}


@pytest.mark.parametrize(
    ("given", "kind"),
    [
        (headers(auto_submitted="auto-generated"), AutoKind.auto_submitted),
        (headers(auto_submitted="Auto-Replied; owner-email=x@y.test"), AutoKind.auto_submitted),
        (headers(auto_submitted="no"), None),
        (headers(auto_submitted="No (comment)"), None),
        (headers(x_autorespond="yes"), AutoKind.x_autoreply),
        (headers(x_autoresponder="1"), AutoKind.x_autoreply),
        (headers(x_autoreply="no"), None),
        (headers(x_auto_response_suppress="DR, OOF, AutoReply"), AutoKind.auto_response_suppress),
        (headers(x_auto_response_suppress="RN"), None),
        (headers(precedence="junk"), AutoKind.precedence),
        (headers(precedence="List"), AutoKind.precedence),
        (headers(precedence="first-class"), None),
        (headers(list_id="<x.lists.test>"), AutoKind.list),
        (headers(return_path="<>"), AutoKind.null_return_path),
        (headers(return_path="<a@b.test>"), None),
        (
            headers(x_helpline_loop="support@helpline.test", precedence="bulk"),
            AutoKind.own_loop_header,
        ),
    ],
)
def test_header_rules(given: dict[str, list[str]], kind: AutoKind | None) -> None:
    assert auto_kind(given, sender_email="person@customer.test", message_id="a@b.test") == kind


@pytest.mark.parametrize(
    ("sender", "automatic"),
    [
        ("MAILER-DAEMON@mx.test", True),
        ("postmaster@mx.test", True),
        ("no-reply@shop.test", True),
        ("noreply@shop.test", True),
        ("donotreply@shop.test", True),
        ("owner-list@lists.test", True),
        ("list-request@lists.test", True),
        ("replyhelp@shop.test", False),
        ("dana@customer.test", False),
    ],
)
def test_system_senders(sender: str, automatic: bool) -> None:
    kind = auto_kind({}, sender_email=sender.lower(), message_id=None)
    assert (kind == AutoKind.system_sender) is automatic


def test_own_message_id_shape_is_required() -> None:
    ours = make_message_id("helpline.test", "k")
    assert auto_kind(
        {}, sender_email="a@b.test", message_id=ours, own_domains=["helpline.test"]
    ) == (AutoKind.own_message_id)
    # a mail client's Message-ID on the same domain is a person's mail
    assert (
        auto_kind(
            {},
            sender_email="a@b.test",
            message_id="abc@helpline.test",
            own_domains=["helpline.test"],
        )
        is None
    )


class TestDeliveryReports:
    def test_permanent_failure(self) -> None:
        mail = parse_message((CORPUS / "dsn_permanent.eml").read_bytes())
        bounce = mail.bounce
        assert bounce is not None
        assert bounce.original_message_id == make_message_id("helpline.test", "outbox:1")
        assert bounce.recipients == ["nobody@customer.test"]
        assert bounce.status == "5.1.1"
        assert bounce.permanent is True
        assert bounce.action == "failed"
        assert (
            bounce.diagnostic
            == "550 5.1.1 <nobody@customer.test>: Recipient address rejected: User unknown"
        )

    def test_delay_is_not_permanent_and_finds_the_id_in_the_attached_message(self) -> None:
        bounce = parse_message((CORPUS / "dsn_delayed.eml").read_bytes()).bounce
        assert bounce is not None
        assert bounce.original_message_id == "helpline.delayedoriginal@helpline.test"
        assert (bounce.status, bounce.permanent, bounce.action) == ("4.4.1", False, "delayed")
        assert bounce.recipients == ["slow@customer.test"]

    def test_an_ordinary_mail_is_no_bounce(self) -> None:
        assert parse_message((CORPUS / "reply_gmail.eml").read_bytes()).bounce is None

    def test_report_with_several_recipients_and_a_base64_status_part(self) -> None:
        import base64

        status = (
            "Reporting-MTA: dns; mx.test\n\n"
            "Final-Recipient: rfc822; ok@customer.test\nAction: delivered\nStatus: 2.0.0\n\n"
            "Final-Recipient: rfc822; gone@customer.test\nAction: failed\nStatus: 5.2.1\n"
            "Diagnostic-Code: smtp; 550 5.2.1 mailbox disabled\n"
        )
        raw = (
            "From: postmaster@mx.test\nTo: support@helpline.test\nSubject: failure\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n"
            "--B\nContent-Type: text/plain\n\nfailed\n"
            "--B\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n"
            + base64.encodebytes(status.encode()).decode()
            + "--B\nContent-Type: text/rfc822-headers\n\nMessage-ID: <orig@helpline.test>\n\n--B--\n"
        ).encode()
        bounce = parse_message(raw).bounce
        assert bounce is not None
        assert bounce.recipients == ["gone@customer.test"]
        assert bounce.all_recipients == ["ok@customer.test", "gone@customer.test"]
        assert (bounce.status, bounce.permanent) == ("5.2.1", True)
        assert bounce.diagnostic == "550 5.2.1 mailbox disabled"
        assert bounce.original_message_id == "orig@helpline.test"


class TestPlainTextBounces:
    """Non-DSN bounces: Exim's and qmail's plain-text notices, with the original recipient in
    the body and the returned message's headers after a marker."""

    def test_exim_permanent_failure(self) -> None:
        bounce = parse_message((CORPUS / "bounce_exim_plain.eml").read_bytes()).bounce
        assert bounce is not None
        assert bounce.original_message_id == make_message_id("helpline.test", "outbox:1")
        assert bounce.recipients == ["nobody@customer.test"]
        assert (bounce.status, bounce.permanent, bounce.action) == ("5.1.1", True, "failed")
        assert bounce.diagnostic == (
            "550 5.1.1 <nobody@customer.test>: Recipient address rejected: User unknown"
        )

    def test_qmail_failure_notice_lower_cases_the_recipient(self) -> None:
        bounce = parse_message((CORPUS / "bounce_qmail_plain.eml").read_bytes()).bounce
        assert bounce is not None
        assert bounce.original_message_id == "helpline.qmailoriginal@helpline.test"
        assert bounce.recipients == ["gone.away@customer.test"]
        assert (bounce.status, bounce.permanent) == ("5.2.1", True)

    def test_exim_delay_warning_is_not_permanent(self) -> None:
        bounce = parse_message((CORPUS / "bounce_exim_delayed.eml").read_bytes()).bounce
        assert bounce is not None
        assert bounce.original_message_id == "helpline.delayedplain@helpline.test"
        assert bounce.recipients == ["slow@customer.test"]
        assert (bounce.status, bounce.permanent, bounce.action) == ("4.3.0", False, "delayed")

    def test_a_person_quoting_a_bounce_subject_is_no_bounce(self) -> None:
        mail = parse_message((CORPUS / "not_a_bounce_subject.eml").read_bytes())
        assert mail.bounce is None
        assert mail.auto is None

    def test_a_system_sender_without_a_notice_is_no_bounce(self) -> None:
        raw = (
            b"From: no-reply@shop.test\r\nTo: support@helpline.test\r\n"
            b"Subject: Your order shipped\r\n\r\nIt is on its way.\r\n"
        )
        mail = parse_message(raw)
        assert mail.bounce is None
        assert mail.auto == AutoKind.system_sender

    def test_own_addresses_are_never_taken_for_the_failed_recipient(self) -> None:
        raw = (
            b"From: MAILER-DAEMON@mx.test\r\nTo: support@helpline.test\r\n"
            b"Subject: Undelivered Mail Returned to Sender\r\n\r\n"
            b"Your message from support@helpline.test to lost@customer.test could not be "
            b"delivered to one or more recipients.\r\n550 5.1.1 user unknown\r\n"
        )
        bounce = parse_message(raw, own_domains=["helpline.test"]).bounce
        assert bounce is not None
        assert bounce.recipients == ["lost@customer.test"]

    def test_hostile_text_is_bounded(self) -> None:
        raw = (
            b"From: mailer-daemon@mx.test\r\nTo: support@helpline.test\r\n"
            b"Subject: failure notice\r\n\r\n" + b"a" * 200_000 + b"\r\n" + b"-" * 50_000
        )
        bounce = parse_message(raw).bounce
        assert bounce is not None
        assert bounce.recipients == []
        assert bounce.original_message_id is None
