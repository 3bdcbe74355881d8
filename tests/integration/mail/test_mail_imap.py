"""mail.imap.ImapSource against a real dovecot: UIDVALIDITY/UIDNEXT, raw fetch since a UID,
\\Seen or MOVE only when told, IDLE, polling, reconnect after a server restart, clean logout."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from helpline.mail.imap import (
    Backoff,
    ImapAuthError,
    ImapConnectionLost,
    ImapSource,
    parse_imap_url,
)
from helpline.mail.message import parse_message
from tests.fixtures.dovecot import Dovecot

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).parents[2] / "fixtures" / "mail"


def mail(n: int) -> bytes:
    return (
        f"From: customer{n}@customer.test\r\nTo: support@helpline.test\r\n"
        f"Subject: Message {n}\r\nMessage-ID: <m{n}@customer.test>\r\n\r\nBody {n}\r\n"
    ).encode()


async def test_select_fetch_and_mark_seen(dovecot: Dovecot) -> None:
    first = dovecot.append(mail(1))
    second = dovecot.append((CORPUS / "charset_iso2022jp.eml").read_bytes())
    async with await ImapSource.connect(dovecot.url()) as source:
        assert source.has_idle
        assert source.has_move
        validity, uidnext = await source.select()
        assert validity > 0
        assert uidnext == second + 1
        fetched = [item async for item in source.fetch_since(0)]
        assert [uid for uid, _ in fetched] == [first, second]
        assert parse_message(fetched[0][1]).subject == "Message 1"
        # the raw bytes arrive exactly (ISO-2022-JP escapes and all)
        assert (
            fetched[1][1].replace(b"\r\n", b"\n") == (CORPUS / "charset_iso2022jp.eml").read_bytes()
        )
        # reading never flags: only mark_processed does, after the caller committed
        assert dovecot.flags(first) == set()
        await source.mark_processed(first)
        assert dovecot.flags(first) == {"\\Seen"}
        assert dovecot.flags(second) == set()
        assert [uid async for uid, _ in source.fetch_since(first)] == [second]
        assert [uid async for uid, _ in source.fetch_since(second)] == []  # "n:*" quirk filtered
        assert [uid async for uid, _ in source.fetch_since(0, unseen_only=True)] == [second]
    assert "Logged out" in dovecot.log  # a clean LOGOUT, not a dropped connection


async def test_move_to_a_folder_after_processing(dovecot: Dovecot) -> None:
    dovecot.create_folder("Processed")
    uid = dovecot.append(mail(1))
    kept = dovecot.append(mail(2))
    async with await ImapSource.connect(dovecot.url("INBOX", move_to="Processed")) as source:
        await source.select()
        await source.mark_processed(uid)
    assert dovecot.uids("INBOX") == [kept]
    assert len(dovecot.uids("Processed")) == 1


async def test_uidvalidity_is_stable_across_connections(dovecot: Dovecot) -> None:
    dovecot.append(mail(1))
    async with await ImapSource.connect(dovecot.url()) as one:
        first = await one.select()
    dovecot.append(mail(2))
    async with await ImapSource.connect(dovecot.url()) as two:
        second = await two.select()
    assert second[0] == first[0]
    assert second[1] == first[1] + 1


async def test_idle_reports_new_mail_and_times_out_quietly(dovecot: Dovecot) -> None:
    async with await ImapSource.connect(dovecot.url()) as source:
        await source.select()
        assert await source.idle(0.5) is False  # nothing arrived
        waiting = asyncio.ensure_future(source.idle(20))
        await asyncio.sleep(0.3)  # let IDLE start before the mail arrives
        uid = await asyncio.to_thread(dovecot.append, mail(7))
        assert await asyncio.wait_for(waiting, 20) is True
        assert [u async for u, _ in source.fetch_since(uid - 1)] == [uid]


async def test_polling_when_idle_is_not_used(dovecot: Dovecot) -> None:
    async with await ImapSource.connect(dovecot.url(), use_idle=False, poll_interval=0.2) as source:
        await source.select()
        assert await source.idle(5) is False
        await asyncio.to_thread(dovecot.append, mail(1))
        assert await source.idle(5) is True


async def test_restart_during_idle_raises_and_a_new_connection_catches_up(dovecot: Dovecot) -> None:
    dovecot.append(mail(1))
    source = await ImapSource.connect(dovecot.url(), timeout=10)
    validity, _ = await source.select()
    waiting = asyncio.ensure_future(source.idle(30))
    await asyncio.sleep(0.3)
    await asyncio.to_thread(dovecot.restart)
    with pytest.raises(ImapConnectionLost):
        await asyncio.wait_for(waiting, 20)
    await source.close()  # safe on a dead connection
    new = await asyncio.to_thread(dovecot.append, mail(2))
    async with await ImapSource.connect(dovecot.url()) as again:
        assert (await again.select())[0] == validity
        assert [u async for u, _ in again.fetch_since(new - 1)] == [new]


async def test_commands_after_the_server_went_away_raise_connection_lost(dovecot: Dovecot) -> None:
    source = await ImapSource.connect(dovecot.url(), timeout=5)
    await source.select()
    await asyncio.to_thread(dovecot.stop)
    with pytest.raises(ImapConnectionLost):
        await source.select()  # does not wait for its timeout: the loss is noticed
    await source.close()
    with pytest.raises(ImapConnectionLost):
        await ImapSource.connect(dovecot.url(), timeout=2)


async def test_wrong_password_is_an_auth_error(dovecot: Dovecot) -> None:
    url = dovecot.url().replace(dovecot.password, "wrong")
    with pytest.raises(ImapAuthError) as caught:
        await ImapSource.connect(url)
    assert "wrong" not in str(caught.value)


async def test_a_large_message_arrives_whole(dovecot: Dovecot) -> None:
    body = b"".join(b"line %06d " % i + b"x" * 60 + b"\r\n" for i in range(60_000))  # ~4.4 MB
    uid = dovecot.append(b"From: big@customer.test\r\nSubject: big\r\n\r\n" + body)
    async with await ImapSource.connect(dovecot.url()) as source:
        await source.select()
        ((got, raw),) = [item async for item in source.fetch_since(uid - 1)]
    assert got == uid
    assert raw.endswith(body)


def test_imap_urls() -> None:
    target = parse_imap_url(
        "imaps://me%40x.test:p%2Fw@mail.test/Support%20Inbox?move_to=Done&verify=false"
    )
    assert (target.host, target.port, target.username, target.password) == (
        "mail.test",
        993,
        "me@x.test",
        "p/w",
    )
    assert (target.folder, target.move_to, target.verify) == ("Support Inbox", "Done", False)
    assert "p/w" not in repr(target)
    assert parse_imap_url("imap://u:p@h").folder == "INBOX"
    for bad in ("pop3://u:p@h", "imap://h", "imap://u:p@"):
        with pytest.raises(ValueError):
            parse_imap_url(bad)


def test_backoff_grows_caps_and_resets() -> None:
    backoff = Backoff(initial=1, maximum=30, factor=2, jitter=0, rng=random.Random(0))
    assert [backoff.delay() for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    backoff.reset()
    assert backoff.delay() == 1
    jittered = Backoff(initial=10, jitter=0.2, rng=random.Random(3))
    delays = [jittered.delay(), jittered.delay()]
    assert 8 <= delays[0] <= 12
    assert 16 <= delays[1] <= 24
    assert delays[0] != 10  # jitter spreads reconnects of many workers


async def test_imaps_with_the_servers_certificate(dovecot: Dovecot) -> None:
    uid = dovecot.append(mail(1))
    async with await ImapSource.connect(dovecot.url(tls=True)) as source:
        await source.select()
        assert [u async for u, _ in source.fetch_since(0)] == [uid]
    untrusted = dovecot.url(tls=True).split("?", 1)[0]  # the system store knows no such CA
    with pytest.raises(ImapConnectionLost, match="SSLCertVerificationError"):
        await ImapSource.connect(untrusted)
