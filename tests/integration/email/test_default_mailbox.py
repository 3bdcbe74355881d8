"""The default mailbox: public staff replies on tickets opened on the web or by the API go out by
mail through it (one default at most, enforced by the database), and the customer's answer to
that mail threads back into the same ticket."""

from __future__ import annotations

from email.utils import getaddresses

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from helpline.models import Conversation, Mailbox, OutboundEmail
from tests.fixtures.actors import Cast
from tests.fixtures.mail_channel import MAILBOXES, Mail, raw_mail
from tests.fixtures.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

TICKETS = "/api/v1/tickets"


async def web_ticket(client, cast: Cast) -> dict:
    r = await client.post(
        TICKETS,
        json={"title": "Invoice is wrong", "description": "Opened on the web."},
        headers=cast.alice.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def reply(client, cast: Cast, ticket_id: str, message: str, **extra) -> dict:
    r = await client.post(
        f"{TICKETS}/{ticket_id}/conversations",
        json={"message": message, **extra},
        headers=cast.agent.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def defaults(session) -> list[str]:
    rows = await session.execute(
        select(Mailbox.address)
        .where(Mailbox.is_default.is_(True))
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars())


class TestDefaultMailbox:
    async def test_without_a_default_web_tickets_are_not_mailed(
        self, mail: Mail, client, cast: Cast
    ):
        await mail.mailbox()  # a mailbox, but not the default
        ticket = await web_ticket(client, cast)
        sent = await reply(client, cast, ticket["id"], "We are on it.")
        assert sent["delivery"] is None
        assert await mail.outbound() == []

    async def test_replies_on_a_web_ticket_go_out_through_the_default_and_the_answer_threads(
        self, mail: Mail, client, cast: Cast, session, smtp_sink: SmtpSink
    ):
        box = await mail.mailbox(display_name="ACME Support")
        r = await client.patch(
            f"{MAILBOXES}/{box.id}", json={"is_default": True}, headers=cast.admin.headers
        )
        assert r.status_code == 200, r.text
        assert r.json()["is_default"] is True
        ticket = await web_ticket(client, cast)
        sent = await reply(client, cast, ticket["id"], "Corrected invoice attached soon.")
        assert sent["delivery"]["status"] == "queued"
        note = await reply(client, cast, ticket["id"], "internal", is_internal=True)
        assert note["delivery"] is None
        # A customer's own web message is not mailed back to them.
        r = await client.post(
            f"{TICKETS}/{ticket['id']}/conversations",
            json={"message": "Thanks"},
            headers=cast.alice.headers,
        )
        assert r.json()["delivery"] is None
        [row] = await mail.outbound()
        assert str(row.mailbox_id) == box.id
        assert row.to_address == cast.alice.email
        assert await mail.send_all(smtp_sink.url) == ["sent"]
        [message] = smtp_sink.wait_for(1)
        assert message.recipients == [cast.alice.email]
        mailed = message.message
        assert "ACME Support" in mailed["From"]
        assert mailed["Subject"] == f"Re: Invoice is wrong [#{ticket['number']}]"
        assert "Corrected invoice" in mailed.get_content()
        [(_, reply_to)] = getaddresses([mailed["Reply-To"]])
        assert reply_to.startswith(box.address.split("@")[0] + "+")
        # The customer answers the mail: it lands in the same web ticket.
        answer = raw_mail(
            sender=cast.alice.email,
            to=reply_to,
            subject=f"Re: {mailed['Subject']}",
            in_reply_to=mailed["Message-ID"].strip("<>"),
            body="Got it, thank you.",
        )
        row = await mail.deliver(box, answer)
        assert row["status"] == "processed", row
        assert str(row["ticket_id"]) == ticket["id"]
        assert row["thread_reason"] == "reply_token"
        last = (
            await session.execute(
                select(Conversation)
                .where(Conversation.ticket_id == ticket["id"])
                .order_by(Conversation.timestamp.desc())
                .limit(1)
            )
        ).scalar_one()
        assert last.message.startswith("Got it, thank you.")
        assert last.channel == "email"

    async def test_a_ticket_that_came_by_mail_keeps_its_own_mailbox(
        self, mail: Mail, client, cast: Cast
    ):
        own = await mail.mailbox()
        await mail.mailbox(is_default=True)
        first = await mail.deliver(own, raw_mail(sender="zed@customer.example", to=own.address))
        await reply(client, cast, str(first["ticket_id"]), "Hello from the right mailbox.")
        [row] = await mail.outbound()
        assert str(row.mailbox_id) == own.id

    async def test_one_default_at_most_making_another_the_default_moves_it(
        self, mail: Mail, client, cast: Cast, session
    ):
        a = await mail.mailbox(is_default=True)
        b = await mail.mailbox()
        assert await defaults(session) == [a.address]
        listed = {
            m["id"]: m["is_default"]
            for m in (await client.get(MAILBOXES, headers=cast.admin.headers)).json()
        }
        assert listed == {a.id: True, b.id: False}
        r = await client.patch(
            f"{MAILBOXES}/{b.id}", json={"is_default": True}, headers=cast.admin.headers
        )
        assert r.json()["is_default"] is True
        assert await defaults(session) == [b.address]
        r = await client.post(
            "/graphql",
            json={"query": "{ mailboxes { address isDefault } }"},
            headers=cast.admin.headers,
        )
        assert {m["address"]: m["isDefault"] for m in r.json()["data"]["mailboxes"]} == {
            a.address: False,
            b.address: True,
        }
        # Creating a third as the default moves it again; unsetting leaves none.
        c = await mail.mailbox(is_default=True)
        assert await defaults(session) == [c.address]
        r = await client.patch(
            f"{MAILBOXES}/{c.id}", json={"is_default": False}, headers=cast.admin.headers
        )
        assert r.json()["is_default"] is False
        assert await defaults(session) == []
        audit = (
            (
                await session.execute(
                    text(
                        "SELECT changes->'is_default' FROM audit_log WHERE action = 'mailbox.updated'"
                        " AND entity_id = :id ORDER BY id"
                    ),
                    {"id": b.id},
                )
            )
            .scalars()
            .all()
        )
        assert audit == [[False, True], [True, False]]

    async def test_the_database_refuses_a_second_default(self, mail: Mail, session):
        await mail.mailbox(is_default=True)
        b = await mail.mailbox()
        with pytest.raises(IntegrityError, match="uq_mailboxes_one_default"):
            async with session.begin_nested():
                await session.execute(
                    text("UPDATE mailboxes SET is_default = true WHERE id = :id"), {"id": b.id}
                )

    async def test_a_suppressed_customer_gets_no_mail_the_delivery_says_why(
        self, mail: Mail, client, cast: Cast, session
    ):
        await mail.mailbox(is_default=True)
        await session.execute(
            text("INSERT INTO email_suppressions (address, reason) VALUES (:a, 'bounced: 5.1.1')"),
            {"a": cast.alice.email.lower()},
        )
        await session.commit()
        ticket = await web_ticket(client, cast)
        sent = await reply(client, cast, ticket["id"], "Hello?")
        assert sent["delivery"]["status"] == "failed"
        assert sent["delivery"]["error"].startswith("suppressed: bounced")
        rows = await mail.outbound()
        assert [r.status for r in rows] == ["failed"]
        assert isinstance(rows[0], OutboundEmail)
