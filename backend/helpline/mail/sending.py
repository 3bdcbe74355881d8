"""Sending the outbox: one row per job, under its row lock, with the Message-ID fixed when the row
was written. A temporary SMTP failure is retried with backoff (the same Message-ID) until
``mail_retry_hours`` have passed; a permanent one (5xx) fails the row with the server's words.

At least once: a crash after the server accepted the mail and before the row says `sent` sends
it again — with the same Message-ID, which receiving systems use to drop the duplicate.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import structlog

from helpline.config import Settings
from helpline.db import ActorContext, Database
from helpline.kit.clock import Clock
from helpline.mail import repository
from helpline.mail.compose import compose_reply
from helpline.mail.message import Address
from helpline.mail.processing import reply_token_secret
from helpline.mail.smtp import SmtpPermanentError, SmtpTemporaryError, send
from helpline.mail.threading import make_reply_token, reply_address
from helpline.mail.vault import Vault
from helpline.models import Mailbox, OutboundEmail
from helpline.webhook.delivery import backoff

log = structlog.get_logger("helpline.mail")
ACTOR = ActorContext.system("mail-send")


def build_message(
    row: OutboundEmail, mailbox: Mailbox, settings: Settings, *, date: datetime
) -> EmailMessage:
    """The mail of an outbox row: the same headers on every attempt (they come from the row;
    the subject was tagged with the ticket number when the row was written)."""
    token = make_reply_token(reply_token_secret(settings), row.ticket_id, row.to_address)
    return compose_reply(
        from_address=Address(mailbox.display_name, mailbox.address),
        to=[Address("", row.to_address)],
        subject=row.subject,
        message_id=row.message_id,
        date=date,
        text=row.body,
        in_reply_to=row.in_reply_to,
        references=list(row.references),
        reply_to=reply_address(mailbox.address, token),
        automatic=row.kind == "auto_acknowledgement",
        loop_address=mailbox.address,
    )


@dataclass
class Sender:
    """The worker's sending engine."""

    database: Database
    settings: Settings
    clock: Clock
    sent: dict[str, int] = field(default_factory=lambda: {"sent": 0, "retry": 0, "failed": 0})

    async def run(self, outbound_id: uuid.UUID) -> str:
        """Send one queued mail if it is due; its status after."""
        async with self.database.transaction(ACTOR) as session:
            # SKIP LOCKED: another worker is sending it right now; it decides.
            row = await repository.get_outbound(session, outbound_id, lock=True)
            if row is None:
                return "gone"
            now = self.clock()
            # A retry waits for its time (its job is scheduled then); a first attempt is due.
            if row.status != "queued" or (row.attempts > 0 and row.next_attempt_at > now):
                return str(row.status)
            mailbox = await repository.get_mailbox(session, row.mailbox_id)
            if mailbox is None:  # pragma: no cover - outbox rows cascade with their mailbox
                return "gone"
            values: dict[str, Any] = {"attempts": row.attempts + 1, "updated_at": now}
            try:
                message = build_message(row, mailbox, self.settings, date=row.created_at)
                url = self._url(mailbox)
                await send(url, message, timeout=self.settings.smtp_timeout_s)
            except SmtpPermanentError as exc:
                values.update(status="failed", error=f"refused: {exc}"[:1000])
                self.sent["failed"] += 1
            except ValueError as exc:  # e.g. a non-ASCII local part (needs SMTPUTF8): permanent
                values.update(status="failed", error=f"not sendable: {exc}"[:1000])
                self.sent["failed"] += 1
            except (SmtpTemporaryError, OSError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:1000]
                if now - row.created_at >= timedelta(hours=self.settings.mail_retry_hours):
                    values.update(status="failed", error=f"gave up: {error}")
                    self.sent["failed"] += 1
                else:
                    values.update(error=error, next_attempt_at=now + backoff(row.attempts + 1))
                    await repository.defer_send(session, outbound_id, values["next_attempt_at"])
                    self.sent["retry"] += 1
            else:
                values.update(status="sent", error=None, sent_at=now)
                self.sent["sent"] += 1
            await repository.update_outbound(session, outbound_id, values)
        log.info(
            "outbound email",
            outbound_id=str(outbound_id),
            status=values.get("status", "queued"),
            attempts=values["attempts"],
        )
        return str(values.get("status", "queued"))

    def _url(self, mailbox: Mailbox) -> str:
        if mailbox.smtp_url_encrypted is not None:
            return Vault.from_settings(self.settings).decrypt(mailbox.smtp_url_encrypted)
        return self.settings.smtp_url
