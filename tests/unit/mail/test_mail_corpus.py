"""The .eml corpus (tests/fixtures/mail) through parse_message: charsets, structure, quoting
styles of the common clients, attachments and inline images."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from helpline.mail.message import Address, ParsedMail, parse_message

pytestmark = pytest.mark.unit

CORPUS = Path(__file__).parents[2] / "fixtures" / "mail"


def parse(name: str) -> ParsedMail:
    return parse_message((CORPUS / name).read_bytes(), own_domains=["helpline.test"])


def test_every_corpus_message_parses_to_storable_text() -> None:
    names = sorted(p.name for p in CORPUS.glob("*.eml"))
    assert len(names) >= 30
    for name in names:
        mail = parse(name)
        for value in (mail.subject, mail.text, mail.display_text, mail.html or ""):
            value.encode("utf-8")  # no lone surrogates: PostgreSQL would refuse them
            assert "\x00" not in value, name
        assert mail.size == (CORPUS / name).stat().st_size
        assert mail.text, name


class TestCharsets:
    def test_8bit_utf8_body_and_raw_utf8_header(self) -> None:
        mail = parse("charset_utf8_8bit.eml")
        assert mail.subject == "Ünïcödé 8bit — ça marche?"
        assert mail.sender == Address("Zoë Çelik", "zoe@customer.test")
        assert "le café coûte 3 € — naïve façade." in mail.text
        assert "Привет. 你好." in mail.text

    def test_latin1_quoted_printable_with_soft_line_breaks(self) -> None:
        mail = parse("charset_latin1_qp.eml")
        assert mail.subject == "Grüße aus Köln"
        assert mail.sender.name == "Jürgen Müller"
        assert (
            "die Bestellung über 250 Stück ist nicht angekommen. Könnten Sie das prüfen?"
            in mail.text
        )
        assert "sechsundsiebzig Zeichen ist." in mail.text  # soft breaks joined
        assert "=\n" not in mail.text

    def test_base64_body_and_b_encoded_subject(self) -> None:
        mail = parse("charset_base64.eml")
        assert mail.subject == "Não consigo entrar — código 401"
        assert mail.text.startswith("Olá,\n\nnão consigo entrar")

    def test_iso_2022_jp(self) -> None:
        mail = parse("charset_iso2022jp.eml")
        assert mail.subject == "ログインできません"
        assert mail.sender.name == "山田太郎"
        assert mail.text == "お世話になっております。\nログインできません。\n確認をお願いします。"

    def test_iso_2022_jp_with_microsoft_extensions(self) -> None:
        # Outlook's "ISO-2022-JP" carries NEC row 13 (①, ㈱), IBM kanji (髙) and half-width kana
        mail = parse("charset_iso2022jp_microsoft.eml")
        assert mail.subject == "①請求書"
        assert mail.text == "髙橋様\n①請求書の件、㈱テストｶﾌﾞｼｷｶﾞｲｼｬです。"
        assert "\ufffd" not in mail.text

    def test_windows_1258_comes_out_precomposed(self) -> None:
        mail = parse("charset_windows1258.eml")
        assert mail.subject == "Không thể đăng nhập"
        assert mail.text == "Xin chào, tôi không thể đăng nhập vào tài khoản của mình. Cảm ơn!"
        assert mail.sender.name == "Nguyễn"

    def test_mislabelled_and_unknown_charsets_fall_back(self) -> None:
        mail = parse("charset_mislabelled.eml")
        assert mail.subject == "Café crème"  # labelled iso-8859-1, bytes are UTF-8
        assert "Café crème — das Menü" in mail.text
        assert "“Quoted” costs 5 €" in mail.text  # labelled us-ascii, bytes are windows-1252
        assert "UTF-8 bytes: åäö" in mail.text  # unknown label
        assert "A bytes-to-bytes codec name is no text charset." in mail.text
        assert "\ufffd" not in mail.text


class TestStructure:
    def test_alternative_keeps_both_and_the_addresses(self) -> None:
        mail = parse("multipart_alternative.eml")
        assert mail.text == "Hello,\n\nwhy is invoice 2026-17 twice as high?\n\nJane"
        assert (
            mail.html
            == "<p>Hello,</p><p>why is invoice <b>2026-17</b> twice as high?</p><p>Jane</p>"
        )
        assert mail.sender == Address("Doe, Jane", "jane.doe@customer.test")
        assert mail.reply_to == [Address("", "jane.private@customer.test")]
        assert [a.email for a in mail.recipients] == [
            "support@helpline.test", "boss@customer.test", "bjorn@customer.test",
        ]  # fmt: skip
        assert mail.cc[1] == Address("Björn", "bjorn@customer.test")
        assert mail.message_id == "alt-1@customer.test"
        assert mail.date == datetime(2026, 12, 7, 9, 15, tzinfo=timezone(timedelta(hours=1)))
        assert mail.date is not None
        assert mail.date.astimezone(UTC).hour == 8
        assert mail.auto is None
        assert mail.bounce is None

    def test_html_only_is_sanitized_and_gives_the_text(self) -> None:
        mail = parse("html_only.eml")
        assert mail.html is not None
        for hostile in (
            "<script",
            "steal()",
            "onload",
            "onerror",
            "<iframe",
            "<form",
            "javascript:",
            "Secret title",
        ):
            assert hostile not in mail.html
        assert '<a href="https://shop.test/order/42"' in mail.html
        assert mail.text == (
            "Order problem\n\nHello, the order page <https://shop.test/order/42> says:\n\n"
            "- item one\n- item two\n\nscreenshot click\nPrice: 5€"
        )  # the € came from the meta tag's windows-1252
        assert "steal" not in mail.text
        assert "Secret title" not in mail.text

    def test_inline_image_and_attachment(self) -> None:
        mail = parse("inline_image.eml")
        assert mail.html is not None
        assert 'src="cid:shot123@customer.test"' in mail.html
        image, pdf = mail.attachments
        assert (image.filename, image.content_type, image.content_id, image.inline) == (
            "shot.png", "image/png", "shot123@customer.test", True,
        )  # fmt: skip
        assert image.data.startswith(b"\x89PNG\r\n\x1a\n")
        assert (pdf.filename, pdf.content_type, pdf.inline, pdf.content_id) == (
            "invoice.pdf", "application/pdf", False, None,
        )  # fmt: skip
        assert pdf.data.startswith(b"%PDF-1.4")
        assert mail.text == "See the screenshot below.\n\n[image: shot.png]"

    def test_attachment_file_names_are_decoded_and_made_safe(self) -> None:
        mail = parse("attachment_names.eml")
        assert [a.filename for a in mail.attachments] == [
            "Rechnung März €.pdf",
            "日本語.txt",
            "passwd",
        ]
        assert mail.attachments[1].data == b"plain text file"
        assert mail.text == "Three files."  # a text/plain attachment is not body

    def test_forward_inline_keeps_the_forwarded_content_for_display(self) -> None:
        mail = parse("forwarded_inline.eml")
        assert mail.forwarded
        assert "Your order 42 could not be shipped: address incomplete." in mail.display_text

    def test_forward_as_attachment_keeps_the_message(self) -> None:
        mail = parse("forwarded_attachment.eml")
        assert mail.forwarded
        assert mail.text == "See the attached mail."
        (inner,) = mail.attachments
        assert (inner.filename, inner.content_type) == ("Error report 17.eml", "message/rfc822")
        reparsed = parse_message(inner.data)
        assert reparsed.message_id == "inner@vendor.test"
        assert reparsed.text == "Job 17 failed: disk full."


class TestQuotedReplies:
    @pytest.mark.parametrize(
        ("name", "reply"),
        [
            ("reply_gmail.eml", "Thanks, restarting fixed it."),
            ("reply_outlook.eml", "Hi,\n\nstill jammed after the restart."),
            ("reply_outlook_html_only.eml", "Hallo,\n\nder Drucker geht wieder."),
            (
                "reply_apple_mail.eml",
                "Yes, I can confirm the printer works again after the restart, thank you for the quick help.",
            ),
            (
                "reply_thunderbird.eml",
                "Here is the log you asked for. The error appears every time the printer wakes up."
                "\n\n- first line of a list\n- second line of a list",
            ),
            ("reply_german_gmail.eml", "Vielen Dank, jetzt geht es."),
        ],
    )
    def test_display_text_is_the_new_part_and_text_stays_full(self, name: str, reply: str) -> None:
        mail = parse(name)
        assert mail.display_text == reply
        assert mail.text.startswith(reply.split("\n")[0])
        assert len(mail.text) > len(mail.display_text) + 20  # the history is still there
        assert mail.auto is None

    def test_threading_headers(self) -> None:
        mail = parse("reply_gmail.eml")
        assert mail.in_reply_to == ["helpline.out1@helpline.test"]
        assert mail.references == ["first@customer.test", "helpline.out1@helpline.test"]
        assert mail.recipients == [Address("Helpline Support", "support+abc@helpline.test")]

    def test_format_flowed_is_joined(self) -> None:
        mail = parse("reply_thunderbird.eml")
        assert "every time the printer wakes up." in mail.text
        assert "Jane Roe\nExample Ltd" in mail.text  # the signature is in the full text
