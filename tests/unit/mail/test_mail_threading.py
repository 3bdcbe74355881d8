"""Reply tokens bound to ticket and recipient, the subject tag, titles and Message-IDs."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from helpline.mail.message import parse_message
from helpline.mail.threading import (
    TOKEN_LENGTH,
    find_reply_token,
    is_forward_subject,
    make_message_id,
    make_reply_token,
    reply_address,
    subject_ticket_number,
    tagged_subject,
    ticket_title,
)

pytestmark = pytest.mark.unit

CORPUS = Path(__file__).parents[2] / "fixtures" / "mail"
SECRET = b"corpus-reply-secret"  # the one the corpus' tokens were made with
TICKET = uuid.UUID("018f3f5e-1c2d-7a00-8000-00000000abcd")
MAILBOX = "support@helpline.test"


class TestReplyTokens:
    def test_round_trip(self) -> None:
        token = make_reply_token(SECRET, TICKET, "Alice@Customer.test")
        assert len(token) == TOKEN_LENGTH
        assert token == token.lower()
        assert token.isalnum()
        address = reply_address(MAILBOX, token)
        assert address == f"support+{token}@helpline.test"
        assert len(address.partition("@")[0]) <= 64
        found = find_reply_token(
            SECRET, MAILBOX, ["other@x.test", address], sender="alice@customer.test"
        )
        assert found is not None
        assert (found.ticket_id, found.recipient, found.address) == (
            TICKET,
            "alice@customer.test",
            address,
        )

    def test_case_folded_by_an_mta_still_verifies(self) -> None:
        token = make_reply_token(SECRET, TICKET, "alice@customer.test")
        shouted = reply_address(MAILBOX, token).upper()
        found = find_reply_token(SECRET, MAILBOX, [shouted], sender="ALICE@customer.test")
        assert found is not None
        assert found.ticket_id == TICKET

    def test_bound_to_the_recipient(self) -> None:
        address = reply_address(MAILBOX, make_reply_token(SECRET, TICKET, "alice@customer.test"))
        assert find_reply_token(SECRET, MAILBOX, [address], sender="bob@customer.test") is None

    def test_bound_to_the_ticket_and_the_secret(self) -> None:
        token = make_reply_token(SECRET, TICKET, "alice@customer.test")
        other = uuid.uuid4()
        forged = (
            make_reply_token(SECRET, other, "x@y.test")[:26] + token[26:]
        )  # other ticket, old MAC
        assert (
            find_reply_token(
                SECRET, MAILBOX, [reply_address(MAILBOX, forged)], sender="alice@customer.test"
            )
            is None
        )
        assert (
            find_reply_token(
                b"other", MAILBOX, [reply_address(MAILBOX, token)], sender="alice@customer.test"
            )
            is None
        )

    def test_only_this_mailbox_addresses_count(self) -> None:
        token = make_reply_token(SECRET, TICKET, "alice@customer.test")
        for address in (
            f"sales+{token}@helpline.test",
            f"support+{token}@evil.test",
            f"support-{token}@helpline.test",
        ):
            assert (
                find_reply_token(SECRET, MAILBOX, [address], sender="alice@customer.test") is None
            )

    @pytest.mark.parametrize("junk", ["", "x", "!" * 39, "a" * 39, "a" * 40, "é" * 39, "0" * 39])
    def test_garbage_tokens_are_ignored(self, junk: str) -> None:
        assert (
            find_reply_token(SECRET, MAILBOX, [f"support+{junk}@helpline.test"], sender="a@b.test")
            is None
        )

    def test_spoofed_token_in_the_corpus(self) -> None:
        spoofed = parse_message((CORPUS / "spoofed_reply_token.eml").read_bytes())
        genuine = parse_message((CORPUS / "genuine_reply_token.eml").read_bytes())
        spoof_addresses = [a.email for a in spoofed.recipients]
        # the token is a real one, issued to alice …
        assert (
            find_reply_token(SECRET, MAILBOX, spoof_addresses, sender="alice@customer.test")
            is not None
        )
        # … so mallory quoting it gets nothing
        assert (
            find_reply_token(SECRET, MAILBOX, spoof_addresses, sender=spoofed.sender.email) is None
        )
        found = find_reply_token(
            SECRET, MAILBOX, [a.email for a in genuine.recipients], sender=genuine.sender.email
        )
        assert found is not None
        assert found.ticket_id == TICKET


class TestSubjects:
    @pytest.mark.parametrize(
        ("subject", "number"),
        [
            ("Re: Printer jam [#1234]", 1234),
            ("[#7] x", 7),
            ("Re: [#12] and [#34]", 34),
            ("Order #1234", None),
            ("[#0]", None),
            ("[# 12]", None),
            ("", None),
        ],
    )
    def test_ticket_number(self, subject: str, number: int | None) -> None:
        assert subject_ticket_number(subject) == number

    def test_tagged_subject_appends_the_tag_once(self) -> None:
        assert tagged_subject("Re: Printer jam", 12) == "Re: Printer jam [#12]"
        assert tagged_subject("Re: Printer jam [#12]", 12) == "Re: Printer jam [#12]"
        assert tagged_subject("[#12] Re: Printer", 12) == "Re: Printer [#12]"
        assert tagged_subject("", 12) == "[#12]"

    @pytest.mark.parametrize(
        ("subject", "title"),
        [
            ("Re: Printer jam [#1234]", "Printer jam"),
            ("RE: re: Fwd: FW: AW: WG: SV: Antw: Printer", "Printer"),
            ("Re[2]: Re(3): Printer", "Printer"),
            ("RE\uff1aプリンター", "プリンター"),
            ("Research: results", "Research: results"),
            ("Fwdx: keep", "Fwdx: keep"),
            ("   ", "(no subject)"),
            ("Re:", "(no subject)"),
            ("Tab\tand\nnewline\x00", "Tab and newline"),
        ],
    )
    def test_ticket_title(self, subject: str, title: str) -> None:
        assert ticket_title(subject) == title

    def test_title_is_capped_and_prefix_floods_are_bounded(self) -> None:
        assert len(ticket_title("x" * 1000)) == 200
        assert ticket_title("Re: " * 10_000 + "Hello") == "Hello"

    @pytest.mark.parametrize(
        ("subject", "forward"),
        [
            ("Fwd: x", True),
            ("FW: x", True),
            ("WG: x", True),
            ("TR: x", True),
            ("Re: Fwd: x", False),
            ("x", False),
        ],
    )
    def test_forward_subjects(self, subject: str, forward: bool) -> None:
        assert is_forward_subject(subject) is forward


def test_message_ids_are_stable_per_key() -> None:
    first = make_message_id("Helpline.TEST", "outbox:1")
    assert first == make_message_id("helpline.test", "outbox:1")
    assert first != make_message_id("helpline.test", "outbox:2")
    assert first.startswith("helpline.")
    assert first.endswith("@helpline.test")
    assert "<" not in first
    assert " " not in first
