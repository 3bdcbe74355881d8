"""The email channel end to end with real servers: dovecot (IMAP, IDLE) as the mailbox, aiosmtpd
as the customer's SMTP server, the IMAP loop, the processing job and the sender — against a
database of their own where every step really commits (the loop and the API are separate units
of work, as in production)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from email.utils import getaddresses
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from helpline.app import create_app
from helpline.attachment.storage import LocalStorage
from helpline.config import Settings
from helpline.db import Database, make_engine
from helpline.mail.imap_loop import ImapSupervisor
from helpline.mail.processing import Processor
from helpline.mail.sending import Sender
from helpline.models import InboundEmail, Mailbox, Ticket
from helpline.models.enums import Role
from tests.fixtures.dovecot import Dovecot
from tests.fixtures.factories import make_actor
from tests.fixtures.mail_channel import INBOUND, MAILBOXES, raw_mail
from tests.fixtures.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

TICKETS = "/api/v1/tickets"


class World:
    def __init__(self, settings: Settings, database: Database, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.database = database
        self.client = client
        self.admin: Any = None
        self.agent: Any = None

    async def rows(self) -> list[InboundEmail]:
        async with self.database.transaction() as s:
            return list(
                (await s.execute(select(InboundEmail).order_by(InboundEmail.received_at))).scalars()
            )

    async def process_all(self) -> list[str]:
        processor = Processor(
            database=self.database,
            settings=self.settings,
            storage=LocalStorage(self.settings.attachment_root),
            clock=_now,
        )
        return [await processor.run(r.id) for r in await self.rows() if r.status == "received"]

    async def send_all(self, smtp_url: str) -> list[str]:
        from helpline.models import OutboundEmail

        sender = Sender(
            database=self.database,
            settings=self.settings.model_copy(update={"smtp_url": smtp_url}),
            clock=_now,
        )
        async with self.database.transaction() as s:
            ids = (
                (await s.execute(select(OutboundEmail.id).where(OutboundEmail.status == "queued")))
                .scalars()
                .all()
            )
        return [await sender.run(i) for i in ids]


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def eventually(check: Callable[[], Any], timeout: float = 90.0) -> Any:  # noqa: ASYNC109
    """Poll a condition the IMAP loop brings about (it runs concurrently), within a deadline:
    a hang guard, generous because four xdist workers share two cores in CI (30 s was once
    not enough for a resync under that load)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


@pytest.fixture
def committed_url(make_database) -> str:
    """A database of its own where every step commits for real (created outside the loop)."""
    return str(make_database())


@pytest.fixture
async def world(settings: Settings, committed_url: str, redis, tmp_path) -> AsyncIterator[World]:
    url = committed_url
    own = settings.model_copy(
        update={
            "database_url": url,
            "attachments_dir": tmp_path / "attachments",
            "imap_poll_interval_s": 5.0,
            "imap_max_backoff_s": 1.0,
        }
    )
    database = Database(make_engine(url, own))
    application = create_app(own, background=False, database=database, redis=redis)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://h.test") as client:
            w = World(own, database, client)
            async with database.transaction() as s:
                w.admin = await make_actor(s, Role.admin)
                w.agent = await make_actor(s, Role.agent)
            yield w
    await database.dispose()


@pytest.fixture
async def supervisor(world: World) -> AsyncIterator[ImapSupervisor]:
    sup = ImapSupervisor(
        database=world.database, settings=world.settings, clock=_now, refresh_s=0.2
    )
    task = asyncio.create_task(sup.run())
    yield sup
    sup.stop()
    await asyncio.wait_for(task, 30)


async def test_mail_in_reply_out_reply_in_with_real_servers(
    world: World, dovecot: Dovecot, smtp_sink: SmtpSink, supervisor: ImapSupervisor
):
    r = await world.client.post(
        MAILBOXES,
        json={"address": "support@helpline.example", "imap_url": dovecot.url()},
        headers=world.admin.headers,
    )
    assert r.status_code == 201, r.text
    box = r.json()
    secret = box["inbound_secret"]

    # The customer's first mail arrives by IMAP *and* (say, a second MX route) by HTTP.
    first = raw_mail(
        sender="Cleo <cleo@customer.example>",
        to="support@helpline.example",
        subject="VPN drops every hour",
        message_id=f"{uuid.uuid4().hex}@customer.example",
    )
    from tests.fixtures.mail_channel import Box, Mail

    signer = Mail(
        client=world.client, db=world.database, settings=world.settings, clock=_now, cast=None
    )  # type: ignore[arg-type]
    http = await world.client.post(
        f"{INBOUND}/{box['id']}",
        content=first,
        headers=signer.sign(Box(box["id"], box["address"], secret), first),
    )
    assert http.status_code == 202
    uid = dovecot.append(first)

    async def stored_through_imap() -> bool:
        async with world.database.transaction() as s:
            mb = (await s.execute(select(Mailbox))).scalar_one()
            return (mb.imap_last_uid or 0) >= uid

    await eventually(stored_through_imap)
    rows = await world.rows()
    assert len(rows) == 1  # one row for the message, whichever way it came
    assert rows[0].source == "http"
    assert "\\Seen" in dovecot.flags(uid)  # flagged only after the row committed
    assert await world.process_all() == ["processed"]
    [row] = await world.rows()
    async with world.database.transaction() as s:
        ticket = (await s.execute(select(Ticket).where(Ticket.id == row.ticket_id))).scalar_one()

    # The agent answers in Helpline; the worker mails it to the customer's server.
    r = await world.client.post(
        f"{TICKETS}/{ticket.id}/conversations",
        json={"message": "Which client version do you use?"},
        headers=world.agent.headers,
    )
    assert r.json()["delivery"]["status"] == "queued"
    assert await world.send_all(smtp_sink.url) == ["sent"]
    [received] = smtp_sink.wait_for(1)
    mail = received.message
    assert received.recipients == ["cleo@customer.example"]
    assert mail["In-Reply-To"].strip("<>") == rows[0].message_id
    assert f"[#{ticket.number}]" in mail["Subject"]
    [(_, reply_to)] = getaddresses([mail["Reply-To"]])

    # The customer replies to that mail; it reaches the mailbox while the loop IDLEs.
    answer = raw_mail(
        sender="cleo@customer.example",
        to=reply_to,
        subject=f"Re: {mail['Subject']}",
        in_reply_to=mail["Message-ID"].strip("<>"),
        references=[rows[0].message_id or "", mail["Message-ID"].strip("<>")],
        body="Version 5.2, on Linux.",
    )
    dovecot.append(answer)

    async def two_rows() -> bool:
        return len(await world.rows()) == 2

    await eventually(two_rows)
    assert await world.process_all() == ["processed"]
    latest = (await world.rows())[-1]
    assert latest.ticket_id == ticket.id
    assert latest.thread_reason == "reply_token"
    assert latest.source == "imap"

    # The IMAP server restarts while the loop IDLEs: it reconnects and catches up.
    dovecot.restart()
    third = raw_mail(
        sender="cleo@customer.example",
        to="support@helpline.example",
        subject=f"Also [#{ticket.number}]",
        body="And it happens on Wi-Fi only.",
    )
    dovecot.append(third)

    async def three_rows() -> bool:
        return len(await world.rows()) == 3

    await eventually(three_rows, timeout=60)
    assert await world.process_all() == ["processed"]
    latest = (await world.rows())[-1]
    assert latest.ticket_id == ticket.id
    assert latest.thread_reason == "subject"


async def test_a_30_mb_message_and_70_attachments_never_block_the_next(
    world: World, dovecot: Dovecot, supervisor: ImapSupervisor
):
    r = await world.client.post(
        MAILBOXES,
        json={"address": "big@helpline.example", "imap_url": dovecot.url()},
        headers=world.admin.headers,
    )
    assert r.status_code == 201
    huge = raw_mail(
        sender="h@customer.example",
        to="big@helpline.example",
        subject="Huge",
        attachments=[("dump.bin", "application/octet-stream", os.urandom(30 * 1024 * 1024))],
    )
    many = raw_mail(
        sender="h@customer.example",
        to="big@helpline.example",
        subject="Many",
        attachments=[(f"f{i}.txt", "text/plain", b"file %d" % i) for i in range(70)],
    )
    normal = raw_mail(sender="h@customer.example", to="big@helpline.example", subject="Normal")
    for raw in (huge, many, normal):
        dovecot.append(raw)

    async def three_rows() -> bool:
        return len(await world.rows()) == 3

    await eventually(three_rows, timeout=120)
    await world.process_all()
    by_subject = {}
    async with world.database.transaction() as s:
        for row in await world.rows():
            title = None
            if row.ticket_id is not None:
                title = (
                    await s.execute(select(Ticket.title).where(Ticket.id == row.ticket_id))
                ).scalar_one()
            by_subject[title or row.reason.split(":")[0]] = row
    assert by_subject["Normal"].status == "processed"
    reasons = sorted(
        r.reason.split(":")[0] for r in by_subject.values() if r.status == "quarantined"
    )
    # 30 MB of binary is ~41 MB base64: over the 40 MiB message limit, kept and quarantined
    # (replayable after raising it); under it, the attachment limit would refuse it.
    assert reasons[1] == "too_many_attachments"
    assert reasons[0] in ("too_large", "attachment_refused")
    assert max(r.size for r in by_subject.values()) > 30 * 1024 * 1024  # kept raw, whole


async def test_a_changed_uidvalidity_resyncs_without_importing_twice_or_losing_mail(
    world: World, dovecot: Dovecot, supervisor: ImapSupervisor
):
    """The folder is recreated (a server migration, a restore): UIDVALIDITY changes and UIDs
    start again at 1. The loop re-scans it; what it stored already is a duplicate of its row
    (Message-ID, or SHA-256 without one), what is new is stored once."""
    dovecot.create_folder("Support")
    r = await world.client.post(
        MAILBOXES,
        json={"address": "uv@helpline.example", "imap_url": dovecot.url("Support")},
        headers=world.admin.headers,
    )
    assert r.status_code == 201, r.text
    mailbox_id = uuid.UUID(r.json()["id"])
    one = raw_mail(sender="a@customer.example", to="uv@helpline.example", subject="One")
    two = raw_mail(sender="b@customer.example", to="uv@helpline.example", subject="Two")
    # No Message-ID: the bytes are its key.
    bare = b"From: c@customer.example\r\nTo: uv@helpline.example\r\nSubject: Bare\r\n\r\nHi\r\n"
    for raw in (one, two, bare):
        dovecot.append(raw, "Support")
    old_validity = dovecot.uidvalidity("Support")

    async def rows(n: int) -> list[InboundEmail] | None:
        found = await world.rows()
        return found if len(found) == n else None

    first = await eventually(lambda: rows(3))
    assert {r.imap_uidvalidity for r in first} == {old_validity}
    assert sorted(await world.process_all()) == ["processed"] * 3

    # Recreated while the loop is connected (IDLE on it), restored with the same messages and
    # one that is new; UIDs start again at 1.
    dovecot.delete_folder("Support")
    dovecot.create_folder("Support")
    three = raw_mail(sender="d@customer.example", to="uv@helpline.example", subject="Three")
    uids = [await _append_when_ready(dovecot, raw) for raw in (one, two, bare, three)]
    new_validity = dovecot.uidvalidity("Support")
    assert new_validity != old_validity
    assert uids == [1, 2, 3, 4]

    async def resynced() -> bool:
        async with world.database.transaction() as s:
            mailbox = (
                await s.execute(select(Mailbox).where(Mailbox.id == mailbox_id))
            ).scalar_one()
            return mailbox.imap_uidvalidity == new_validity and mailbox.imap_last_uid == 4

    await eventually(resynced)
    after = await rows(4)
    assert after is not None, [r.message_id for r in await world.rows()]
    new = [r for r in after if r.id not in {f.id for f in first}]
    assert len(new) == 1
    assert new[0].imap_uidvalidity == new_validity
    assert new[0].imap_uid == 4
    # The old rows are untouched (same ids, same outcome); the new one becomes one ticket.
    assert {r.id: r.status for r in after if r.id in {f.id for f in first}} == {
        f.id: "processed" for f in first
    }
    assert await world.process_all() == ["processed"]
    async with world.database.transaction() as s:
        titles = sorted((await s.execute(select(Ticket.title))).scalars())
    assert titles == ["Bare", "One", "Three", "Two"]
    # Every message of the new generation is flagged only after it was stored (or found stored).
    await eventually(
        lambda: _all_seen(dovecot, uids),
    )


async def _all_seen(dovecot: Dovecot, uids: list[int]) -> bool:
    return all("\\Seen" in dovecot.flags(uid, "Support") for uid in uids)


async def _append_when_ready(dovecot: Dovecot, raw: bytes) -> int:
    """APPEND into the recreated folder; dovecot may answer "Mailbox was deleted under us"
    for a moment after the DELETE, while the loop's session still had the old one selected."""
    for _ in range(50):
        try:
            return dovecot.append(raw, "Support")
        except AssertionError as exc:
            if "deleted under us" not in str(exc):
                raise
            await asyncio.sleep(0.1)
    raise AssertionError("the recreated folder never took mail")
