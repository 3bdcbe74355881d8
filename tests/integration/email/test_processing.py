"""Processing inbound mail into tickets and messages, the outbox, bounces and the quarantine —
through the API and the job functions, with a real SMTP sink (aiosmtpd) for outgoing mail."""

from __future__ import annotations

import uuid
from email.utils import getaddresses

import pytest
from sqlalchemy import select, text

from helpline.models import Conversation, Ticket, User
from tests.fixtures.actors import Cast
from tests.fixtures.mail_channel import MAILBOXES, Mail, raw_mail
from tests.fixtures.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

TICKETS = "/api/v1/tickets"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


async def ticket_of(session, ticket_id) -> Ticket:
    return (
        await session.execute(
            select(Ticket).where(Ticket.id == ticket_id).execution_options(populate_existing=True)
        )
    ).scalar_one()


async def messages_of(session, ticket_id) -> list[Conversation]:
    return list(
        (
            await session.execute(
                select(Conversation)
                .where(Conversation.ticket_id == ticket_id)
                .order_by(Conversation.timestamp, Conversation.id)
            )
        ).scalars()
    )


class TestNewTickets:
    async def test_mail_from_an_unknown_sender_opens_a_ticket(self, mail: Mail, session):
        box = await mail.mailbox(default_priority="high")
        raw = raw_mail(
            sender="Carol Customer <Carol@Customer.example>",
            to=box.address,
            subject="Re: Fwd: Printer on fire",
            body="It smokes.\n\n> old quoted text\n",
            attachments=[("shot.png", "image/png", PNG)],
        )
        row = await mail.deliver(box, raw)
        assert row["status"] == "processed", row
        assert row["thread_reason"] == "new_ticket"
        assert row["sender"] == "carol@customer.example"
        ticket = await ticket_of(session, row["ticket_id"])
        assert ticket.title == "Printer on fire"
        assert ticket.priority == "high"
        assert ticket.number > 0
        assert str(ticket.mailbox_id) == box.id
        customer = (
            await session.execute(select(User).where(User.id == ticket.customer_id))
        ).scalar_one()
        assert customer.email == "carol@customer.example"
        assert customer.name == "Carol Customer"
        assert customer.role == "customer"
        [message] = await messages_of(session, ticket.id)
        assert message.channel == "email"
        assert message.sender_id == customer.id
        assert message.id == row["conversation_id"]
        assert "It smokes." in message.message
        assert [a["filename"] for a in message.attachments] == ["shot.png"]
        history = (
            await session.execute(
                text("SELECT change_type, changed_by FROM ticket_history WHERE ticket_id = :t"),
                {"t": ticket.id},
            )
        ).all()
        assert ("created", customer.id) in history
        assert ("message_added", customer.id) in history

    async def test_a_mailbox_default_team_is_the_new_ticket_team(self, mail: Mail, session):
        r = await mail.client.post(
            "/api/v1/teams", json={"name": "Billing desk"}, headers=mail.cast.admin.headers
        )
        assert r.status_code == 201, r.text
        team_id = r.json()["id"]
        box = await mail.mailbox(default_team_id=team_id)
        shown = await mail.client.get(
            f"/api/v1/mailboxes/{box.id}", headers=mail.cast.admin.headers
        )
        assert shown.json()["default_team_id"] == team_id
        row = await mail.deliver(
            box, raw_mail(sender="dan@customer.example", to=box.address, subject="Invoice")
        )
        ticket = await ticket_of(session, row["ticket_id"])
        assert str(ticket.team_id) == team_id
        history = (
            await session.execute(
                text("SELECT change_type FROM ticket_history WHERE ticket_id = :t"),
                {"t": ticket.id},
            )
        ).scalars()
        assert "created" in list(history)

    async def test_unknown_senders_are_quarantined_when_not_allowed_then_replayed(
        self, mail: Mail, client, cast: Cast, session
    ):
        box = await mail.mailbox(allow_unknown_senders=False)
        row = await mail.deliver(box, raw_mail(sender="dan@stranger.example", to=box.address))
        assert row["status"] == "quarantined"
        assert row["reason"].startswith("unknown_sender")
        assert row["ticket_id"] is None
        assert (
            await session.execute(select(User).where(User.email == "dan@stranger.example"))
        ).first() is None
        listed = await client.get(
            "/api/v1/inbound-emails", params={"status": "quarantined"}, headers=cast.admin.headers
        )
        assert [r["id"] for r in listed.json()["data"]] == [str(row["id"])]
        r = await client.get("/api/v1/inbound-emails", headers=cast.agent.headers)
        assert r.status_code == 403
        await client.patch(
            f"{MAILBOXES}/{box.id}",
            json={"allow_unknown_senders": True},
            headers=cast.admin.headers,
        )
        r = await client.post(
            f"/api/v1/inbound-emails/{row['id']}/replay", headers=cast.admin.headers
        )
        assert r.status_code == 200
        assert r.json()["status"] == "received"
        again = await mail.process(row["id"])
        assert again["status"] == "processed"
        assert again["thread_reason"] == "new_ticket"
        r = await client.post(
            f"/api/v1/inbound-emails/{row['id']}/replay", headers=cast.admin.headers
        )
        assert r.status_code == 409
        audit = (
            (
                await session.execute(
                    text("SELECT action FROM audit_log WHERE entity_type = 'inbound_email'")
                )
            )
            .scalars()
            .all()
        )
        assert audit == ["inbound_email.replayed"]

    async def test_discard(self, mail: Mail, client, cast: Cast):
        box = await mail.mailbox(allow_unknown_senders=False)
        row = await mail.deliver(box, raw_mail(sender="eve@stranger.example", to=box.address))
        r = await client.post(
            f"/api/v1/inbound-emails/{row['id']}/discard", headers=cast.admin.headers
        )
        assert r.json()["status"] == "discarded"
        assert (await mail.process(row["id"]))["status"] == "discarded"  # a late job does nothing

    async def test_processing_twice_produces_one_result(self, mail: Mail, session):
        box = await mail.mailbox()
        r = await mail.post(box, raw_mail(sender="f@x.example", to=box.address))
        first = await mail.process(uuid.UUID(r.json()["id"]))
        second = await mail.process(uuid.UUID(r.json()["id"]))
        assert first == second
        count = (await session.execute(text("SELECT count(*) FROM tickets"))).scalar_one()
        assert count == 1

    async def test_too_many_and_refused_attachments_are_quarantined_and_change_nothing(
        self, mail: Mail, session
    ):
        box = await mail.mailbox()
        many = [(f"f{i}.txt", "text/plain", f"file {i}".encode()) for i in range(70)]
        row = await mail.deliver(
            box, raw_mail(sender="g@x.example", to=box.address, attachments=many)
        )
        assert row["status"] == "quarantined"
        assert row["reason"].startswith("too_many_attachments")
        exe = [("run.exe", "application/octet-stream", b"MZ\x90\x00" + b"\x00" * 100)]
        row = await mail.deliver(
            box, raw_mail(sender="g@x.example", to=box.address, attachments=exe)
        )
        assert row["status"] == "quarantined"
        assert row["reason"].startswith("attachment_refused")
        assert (await session.execute(select(Ticket))).first() is None
        assert (
            await session.execute(select(User).where(User.email == "g@x.example"))
        ).first() is None
        nxt = await mail.deliver(box, raw_mail(sender="g@x.example", to=box.address))
        assert nxt["status"] == "processed"

    async def test_flood_is_quarantined(self, mail: Mail):
        mail.settings = mail.settings.model_copy(update={"mail_flood_limit": 3})
        box = await mail.mailbox()
        statuses = [
            (
                await mail.deliver(
                    box, raw_mail(sender="h@x.example", to=box.address, subject=f"s{i}")
                )
            )["status"]
            for i in range(5)
        ]
        assert statuses == ["processed"] * 3 + ["quarantined"] * 2

    async def test_automatic_mail_never_opens_a_ticket_and_own_mail_is_discarded(
        self, mail: Mail, session
    ):
        box = await mail.mailbox(auto_acknowledge=True)
        ooo = raw_mail(
            sender="i@x.example", to=box.address, headers={"Auto-Submitted": "auto-replied"}
        )
        row = await mail.deliver(box, ooo)
        assert row["status"] == "quarantined"
        assert row["reason"].startswith("automatic")
        loop = raw_mail(
            sender="i@x.example", to=box.address, headers={"X-Helpline-Loop": box.address}
        )
        assert (await mail.deliver(box, loop))["status"] == "discarded"
        assert await mail.outbound() == []

    async def test_staff_cannot_open_tickets_by_mail(self, mail: Mail, cast: Cast):
        box = await mail.mailbox()
        row = await mail.deliver(box, raw_mail(sender=cast.agent.email, to=box.address))
        assert row["status"] == "quarantined"
        assert row["reason"].startswith("staff_sender")


class TestConversation:
    async def test_mail_in_reply_out_reply_in_threads_into_one_ticket(
        self, mail: Mail, client, cast: Cast, session, smtp_sink: SmtpSink
    ):
        box = await mail.mailbox(auto_acknowledge=True, display_name="ACME Support")
        first = await mail.deliver(
            box,
            raw_mail(
                sender="jo@customer.example", to=box.address, message_id="q1@customer.example"
            ),
        )
        ticket = await ticket_of(session, first["ticket_id"])
        # The acknowledgement is automatic mail.
        assert await mail.send_all(smtp_sink.url) == ["sent"]
        [ack] = smtp_sink.wait_for(1)
        assert ack.message["Auto-Submitted"] == "auto-replied"
        assert f"[#{ticket.number}]" in ack.message["Subject"]
        # The agent answers on the web/API: the reply is mailed.
        r = await client.post(
            f"{TICKETS}/{ticket.id}/conversations",
            json={"message": "Unplug it, please."},
            headers=cast.agent.headers,
        )
        assert r.status_code == 201
        assert r.json()["delivery"]["status"] == "queued"
        note = await client.post(
            f"{TICKETS}/{ticket.id}/conversations",
            json={"message": "internal only", "is_internal": True},
            headers=cast.agent.headers,
        )
        assert note.json()["delivery"] is None
        assert await mail.send_all(smtp_sink.url) == ["sent"]
        _, reply = smtp_sink.wait_for(2)
        sent = reply.message
        assert reply.recipients == ["jo@customer.example"]
        assert sent["In-Reply-To"] == "<q1@customer.example>"
        assert "<q1@customer.example>" in sent["References"]
        assert sent["Subject"].endswith(f"[#{ticket.number}]")
        assert sent["X-Helpline-Loop"] == box.address
        assert "Auto-Submitted" not in sent
        assert "Unplug it" in sent.get_content()
        [(_, reply_to)] = getaddresses([sent["Reply-To"]])
        assert reply_to.startswith(box.address.split("@")[0] + "+")
        listed = await client.get(
            f"{TICKETS}/{ticket.id}/conversations", headers=cast.agent.headers
        )
        agent_msg = next(m for m in listed.json()["data"] if m["message"] == "Unplug it, please.")
        assert agent_msg["delivery"]["status"] == "sent"
        assert agent_msg["delivery"]["message_id"] == sent["Message-ID"].strip("<>")
        events = (
            (
                await session.execute(
                    text(
                        "SELECT data->>'status' FROM events WHERE type = 'message.delivery'"
                        " AND ticket_id = :t ORDER BY id"
                    ),
                    {"t": ticket.id},
                )
            )
            .scalars()
            .all()
        )
        assert events == ["queued", "sent"]
        # The customer answers the mail: to the Reply-To address, In-Reply-To our Message-ID.
        answer = raw_mail(
            sender="jo@customer.example",
            to=reply_to,
            subject=f"Re: {sent['Subject']}",
            in_reply_to=sent["Message-ID"].strip("<>"),
            references=["q1@customer.example", sent["Message-ID"].strip("<>")],
            body="Done, thanks!",
        )
        row = await mail.deliver(box, answer)
        assert row["status"] == "processed"
        assert row["ticket_id"] == ticket.id
        assert row["thread_reason"] == "reply_token"
        texts = [m.message for m in await messages_of(session, ticket.id)]
        assert texts[-1].startswith("Done, thanks!")

    async def test_threading_by_references_and_by_subject_tag(self, mail: Mail, session):
        box = await mail.mailbox()
        first = await mail.deliver(
            box, raw_mail(sender="k@x.example", to=box.address, message_id="k1@x.example")
        )
        ticket = await ticket_of(session, first["ticket_id"])
        by_refs = await mail.deliver(
            box,
            raw_mail(
                sender="k@x.example",
                to=box.address,
                subject="Re: whatever",
                in_reply_to="k1@x.example",
            ),
        )
        assert by_refs["ticket_id"] == ticket.id
        assert by_refs["thread_reason"] == "references"
        by_subject = await mail.deliver(
            box, raw_mail(sender="K@X.example", to=box.address, subject=f"About [#{ticket.number}]")
        )
        assert by_subject["ticket_id"] == ticket.id
        assert by_subject["thread_reason"] == "subject"

    async def test_a_non_participant_never_lands_in_someone_elses_ticket(self, mail: Mail, session):
        box = await mail.mailbox()
        first = await mail.deliver(
            box, raw_mail(sender="owner@x.example", to=box.address, message_id="o1@x.example")
        )
        ticket = await ticket_of(session, first["ticket_id"])
        for raw in (
            raw_mail(
                sender="intruder@y.example", to=box.address, subject=f"Re: [#{ticket.number}]"
            ),
            raw_mail(sender="intruder@y.example", to=box.address, in_reply_to="o1@x.example"),
        ):
            row = await mail.deliver(box, raw)
            assert row["status"] == "processed"
            assert row["ticket_id"] != ticket.id
            assert row["thread_reason"] == "new_ticket"
        assert len(await messages_of(session, ticket.id)) == 1

    async def test_staff_reply_by_mail_posts_as_staff_and_is_mailed(
        self, mail: Mail, cast: Cast, session
    ):
        box = await mail.mailbox()
        first = await mail.deliver(box, raw_mail(sender="m@x.example", to=box.address))
        ticket = await ticket_of(session, first["ticket_id"])
        row = await mail.deliver(
            box,
            raw_mail(
                sender=cast.agent.email,
                to=box.address,
                subject=f"Re: [#{ticket.number}]",
                body="On it",
            ),
        )
        assert row["thread_reason"] == "subject"
        message = (await messages_of(session, ticket.id))[-1]
        assert message.sender_type == "agent"
        assert message.sender_id == cast.agent.id
        [out] = await mail.outbound()
        assert out.to_address == "m@x.example"
        assert out.conversation_id == message.id

    async def test_customer_reply_reopens_a_solved_ticket_an_auto_reply_does_not(
        self, mail: Mail, client, cast: Cast, session
    ):
        box = await mail.mailbox()
        first = await mail.deliver(box, raw_mail(sender="n@x.example", to=box.address))
        ticket = await ticket_of(session, first["ticket_id"])
        r = await client.patch(
            f"{TICKETS}/{ticket.id}", json={"status": "solved"}, headers=cast.agent.headers
        )
        assert r.status_code == 200
        ooo = raw_mail(
            sender="n@x.example",
            to=box.address,
            subject=f"Out of office [#{ticket.number}]",
            headers={"Auto-Submitted": "auto-replied"},
        )
        row = await mail.deliver(box, ooo)
        assert row["ticket_id"] == ticket.id
        assert (await ticket_of(session, ticket.id)).status == "solved"
        row = await mail.deliver(
            box, raw_mail(sender="n@x.example", to=box.address, subject=f"Re: [#{ticket.number}]")
        )
        assert (await ticket_of(session, ticket.id)).status == "open"

    async def test_mail_about_a_closed_ticket_opens_a_follow_up(
        self, mail: Mail, client, cast: Cast, session
    ):
        box = await mail.mailbox()
        first = await mail.deliver(box, raw_mail(sender="p@x.example", to=box.address))
        ticket = await ticket_of(session, first["ticket_id"])
        await client.patch(
            f"{TICKETS}/{ticket.id}", json={"status": "closed"}, headers=cast.agent.headers
        )
        row = await mail.deliver(
            box, raw_mail(sender="p@x.example", to=box.address, subject=f"Re: [#{ticket.number}]")
        )
        assert row["thread_reason"] == "new_ticket"
        follow_up = await ticket_of(session, row["ticket_id"])
        assert follow_up.id != ticket.id
        assert f"#{ticket.number}" in follow_up.description


class TestBounces:
    async def test_a_permanent_bounce_marks_the_mail_and_suppresses_the_address(
        self, mail: Mail, client, cast: Cast, session, smtp_sink: SmtpSink
    ):
        box = await mail.mailbox()
        first = await mail.deliver(box, raw_mail(sender="gone@x.example", to=box.address))
        ticket = await ticket_of(session, first["ticket_id"])
        await client.post(
            f"{TICKETS}/{ticket.id}/conversations",
            json={"message": "Hello?"},
            headers=cast.agent.headers,
        )
        [out] = await mail.outbound()
        dsn = dsn_for(out.message_id, "gone@x.example", box.address)
        row = await mail.deliver(box, dsn)
        assert row["status"] == "processed", row
        assert row["thread_reason"] == "bounce"
        [out] = await mail.outbound()
        assert out.status == "bounced"
        again = await client.post(
            f"{TICKETS}/{ticket.id}/conversations",
            json={"message": "Still there?"},
            headers=cast.agent.headers,
        )
        assert again.json()["delivery"]["status"] == "failed"
        assert again.json()["delivery"]["error"].startswith("suppressed")
        listed = await client.get("/api/v1/email-suppressions", headers=cast.admin.headers)
        assert [s["address"] for s in listed.json()["data"]] == ["gone@x.example"]
        r = await client.delete(
            "/api/v1/email-suppressions/gone@x.example", headers=cast.admin.headers
        )
        assert r.status_code == 204
        third = await client.post(
            f"{TICKETS}/{ticket.id}/conversations",
            json={"message": "Third"},
            headers=cast.agent.headers,
        )
        assert third.json()["delivery"]["status"] == "queued"


CORPUS = __import__("pathlib").Path(__file__).parents[2] / "fixtures" / "mail"
CORPUS_ID = "helpline.v75qyqxqs3ebuvjlltzliqg3fx4o6d6z@helpline.test"


def corpus_bounce(name: str, *, message_id: str, recipient: str, to: str) -> bytes:
    """A corpus plain-text bounce made to name our real outbound mail and its recipient."""
    text = (CORPUS / name).read_bytes().decode("ascii")
    text = text.replace(CORPUS_ID, message_id).replace(
        "helpline.qmailoriginal@helpline.test", message_id
    )
    for original in ("nobody@customer.test", "gone.away@customer.test", "Gone.Away@Customer.test"):
        text = text.replace(original, recipient)
    return text.replace("support@helpline.test", to).replace("\n", "\r\n").encode()


class TestPlainTextBounces:
    @pytest.mark.parametrize("name", ["bounce_exim_plain.eml", "bounce_qmail_plain.eml"])
    async def test_a_plain_bounce_marks_the_mail_suppresses_the_recipient_opens_no_ticket(
        self, name: str, mail: Mail, client, cast: Cast, session
    ):
        box = await mail.mailbox()
        first = await mail.deliver(box, raw_mail(sender="lost@x.example", to=box.address))
        ticket = await ticket_of(session, first["ticket_id"])
        await client.post(
            f"{TICKETS}/{ticket.id}/conversations",
            json={"message": "Hello?"},
            headers=cast.agent.headers,
        )
        [out] = await mail.outbound()
        tickets_before = await session.scalar(text("SELECT count(*) FROM tickets"))
        bounce = corpus_bounce(
            name, message_id=out.message_id, recipient="lost@x.example", to=box.address
        )
        row = await mail.deliver(box, bounce)
        assert row["status"] == "processed", row
        assert row["thread_reason"] == "bounce"
        assert row["ticket_id"] == ticket.id
        assert row["conversation_id"] is None
        [out] = await mail.outbound()
        assert out.status == "bounced"
        assert out.error.startswith("5.")
        assert await session.scalar(text("SELECT count(*) FROM tickets")) == tickets_before
        listed = await client.get("/api/v1/email-suppressions", headers=cast.admin.headers)
        [suppressed] = listed.json()["data"]
        assert suppressed["address"] == "lost@x.example"
        assert suppressed["reason"].startswith("bounced: 5.")
        again = await client.post(
            f"{TICKETS}/{ticket.id}/conversations",
            json={"message": "Still there?"},
            headers=cast.agent.headers,
        )
        assert again.json()["delivery"]["status"] == "failed"

    async def test_a_delay_warning_suppresses_nothing(
        self, mail: Mail, client, cast: Cast, session
    ):
        box = await mail.mailbox()
        first = await mail.deliver(box, raw_mail(sender="slow@x.example", to=box.address))
        await client.post(
            f"{TICKETS}/{first['ticket_id']}/conversations",
            json={"message": "Hello?"},
            headers=cast.agent.headers,
        )
        [out] = await mail.outbound()
        text_ = (CORPUS / "bounce_exim_delayed.eml").read_text()
        raw = (
            text_.replace("helpline.delayedplain@helpline.test", out.message_id)
            .replace("slow@customer.test", "slow@x.example")
            .replace("support@helpline.test", box.address)
            .replace("\n", "\r\n")
            .encode()
        )
        row = await mail.deliver(box, raw)
        assert row["status"] == "processed"
        assert row["reason"].startswith("delayed: 4.3.0")
        [out] = await mail.outbound()
        assert out.status == "queued"
        listed = await client.get("/api/v1/email-suppressions", headers=cast.admin.headers)
        assert listed.json()["data"] == []

    async def test_a_plain_bounce_about_nothing_we_sent_is_discarded_never_a_ticket(
        self, mail: Mail, session
    ):
        box = await mail.mailbox()
        before = await session.scalar(text("SELECT count(*) FROM tickets"))
        raw = corpus_bounce(
            "bounce_exim_plain.eml",
            message_id="someone-else@spoofed.example",
            recipient="victim@x.example",
            to=box.address,
        )
        row = await mail.deliver(box, raw)
        assert row["status"] == "discarded"
        assert row["reason"].startswith("bounce")
        assert await session.scalar(text("SELECT count(*) FROM tickets")) == before
        assert (
            await session.execute(text("SELECT count(*) FROM email_suppressions"))
        ).scalar() == 0

    async def test_a_customer_quoting_a_bounce_subject_opens_a_ticket(self, mail: Mail, session):
        box = await mail.mailbox()
        raw = (
            (CORPUS / "not_a_bounce_subject.eml")
            .read_bytes()
            .replace(b"support@helpline.test", box.address.encode())
        )
        row = await mail.deliver(box, raw)
        assert row["status"] == "processed"
        assert row["thread_reason"] == "new_ticket"


class TestSending:
    async def test_temporary_failures_retry_permanent_ones_fail(
        self, mail: Mail, client, cast: Cast, session, smtp_sink: SmtpSink
    ):
        box = await mail.mailbox()
        for address in ("defer-4xx@x.example", "reject-5xx@x.example"):
            first = await mail.deliver(box, raw_mail(sender=address, to=box.address))
            await client.post(
                f"{TICKETS}/{first['ticket_id']}/conversations",
                json={"message": "Hi"},
                headers=cast.agent.headers,
            )
        statuses = await mail.send_all(smtp_sink.url)
        assert sorted(statuses) == ["failed", "queued"]
        rows = {o.to_address: o for o in await mail.outbound()}
        deferred = rows["defer-4xx@x.example"]
        assert deferred.attempts == 1
        assert deferred.next_attempt_at > mail.clock()
        assert rows["reject-5xx@x.example"].error.startswith("refused")
        retry_jobs = await mail.jobs("helpline:send_email")
        assert {"id": str(deferred.id)} in retry_jobs
        mail.clock.advance(hours=25)  # past the retry window: it gives up
        assert await mail.send_all(smtp_sink.url) == ["failed"]


def dsn_for(message_id: str, recipient: str, to: str) -> bytes:
    boundary = "dsn-boundary"
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\n"
        f"To: {to}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <dsn-{uuid.uuid4().hex}@mx.example>\r\n"
        f"Auto-Submitted: auto-replied\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        f"\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        f"\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{message_id}>\r\nSubject: Re: something\r\n"
        f"\r\n--{boundary}--\r\n"
    ).encode()


class TestSpoofing:
    async def test_a_token_issued_to_someone_else_opens_no_door(self, mail: Mail, session):
        from helpline.mail.processing import reply_token_secret
        from helpline.mail.threading import make_reply_token, reply_address

        box = await mail.mailbox()
        first = await mail.deliver(box, raw_mail(sender="victim@x.example", to=box.address))
        ticket = await ticket_of(session, first["ticket_id"])
        secret = reply_token_secret(mail.settings)
        # The victim's genuine token, quoted by an attacker; and one the attacker made up.
        victims = reply_address(
            box.address, make_reply_token(secret, ticket.id, "victim@x.example")
        )
        forged = reply_address(box.address, make_reply_token(b"guess", ticket.id, "evil@y.example"))
        for to in (victims, forged):
            row = await mail.deliver(box, raw_mail(sender="evil@y.example", to=to))
            assert row["status"] == "processed"
            assert row["ticket_id"] != ticket.id
            assert row["thread_reason"] == "new_ticket"
        genuine = await mail.deliver(box, raw_mail(sender="victim@x.example", to=victims))
        assert genuine["ticket_id"] == ticket.id
        assert genuine["thread_reason"] == "reply_token"
