"""Raw-mail retention: the periodic job drops the raw bytes of decided mail past the retention
and keeps the row (hash, Message-ID, outcome), so the same message arriving again is still one
row — and mail that still needs its bytes (received, quarantined) keeps them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text

from helpline.jobs import context, tasks
from helpline.models import InboundEmail
from tests.fixtures.actors import Cast
from tests.fixtures.mail_channel import Mail, raw_mail

pytestmark = pytest.mark.integration


async def age(session, inbound_id, days: int) -> None:
    await session.execute(
        text(
            "UPDATE inbound_emails SET received_at = now() - make_interval(days => :d)"
            " WHERE id = :id"
        ),
        {"d": days, "id": inbound_id},
    )
    await session.commit()


async def rows(session) -> dict[str, dict]:
    result = await session.execute(
        select(
            InboundEmail.message_id,
            InboundEmail.status,
            InboundEmail.sha256,
            InboundEmail.ticket_id,
            InboundEmail.raw_purged_at,
            func.octet_length(InboundEmail.raw).label("raw_size"),
        ).execution_options(populate_existing=True)
    )
    return {r.message_id: r._asdict() for r in result}


@pytest.fixture
def run_job(db, mail_settings):
    """Run the periodic task as the worker would, in the test's database."""

    async def run(*, retention_days: int = 30, at=None) -> int:
        settings = mail_settings.model_copy(update={"mail_raw_retention_days": retention_days})
        context.use(SimpleNamespace(settings=settings, unit_of_work=lambda **_: db.unit_of_work()))
        try:
            stamp = int((at or mail_settings_now()).timestamp())
            return await tasks.mail_raw_purge(stamp)
        finally:
            context.use(None)

    return run


def mail_settings_now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


class TestRawRetention:
    async def test_old_decided_mail_loses_its_bytes_and_keeps_its_row_and_dedup(
        self, mail: Mail, session, run_job, client, cast: Cast, monkeypatch
    ):
        box = await mail.mailbox(allow_unknown_senders=True)
        strict = await mail.mailbox(allow_unknown_senders=False)
        old = raw_mail(sender="old@c.example", to=box.address, message_id="old@c.example")
        recent = raw_mail(sender="new@c.example", to=box.address, message_id="new@c.example")
        held = raw_mail(sender="who@c.example", to=strict.address, message_id="held@c.example")
        old_row = await mail.deliver(box, old)
        recent_row = await mail.deliver(box, recent)
        held_row = await mail.deliver(strict, held)
        assert [old_row["status"], recent_row["status"], held_row["status"]] == [
            "processed",
            "processed",
            "quarantined",
        ]
        # Not yet processed: received, with its bytes still needed.
        pending = raw_mail(sender="p@c.example", to=box.address, message_id="pending@c.example")
        r = await mail.post(box, pending)
        pending_id = uuid.UUID(r.json()["id"])
        for inbound_id in (old_row["id"], held_row["id"], pending_id):
            await age(session, inbound_id, 40)
        await age(session, recent_row["id"], 5)
        before = await rows(session)

        monkeypatch.setattr(tasks, "MAIL_PURGE_BATCH", 1)  # batches: one transaction each
        assert await run_job(retention_days=30) == 1
        after = await rows(session)
        assert after["old@c.example"]["raw_size"] is None
        assert after["old@c.example"]["raw_purged_at"] is not None
        # The row stays: hash, Message-ID, outcome and ticket.
        for key in ("status", "sha256", "ticket_id"):
            assert after["old@c.example"][key] == before["old@c.example"][key]
        # Recent, quarantined (may be replayed) and received (not processed yet) keep theirs.
        for message_id in ("new@c.example", "held@c.example", "pending@c.example"):
            assert after[message_id]["raw_size"] == before[message_id]["raw_size"] > 0
            assert after[message_id]["raw_purged_at"] is None
        # The representation says so.
        got = await client.get(
            f"/api/v1/inbound-emails/{old_row['id']}", headers=cast.admin.headers
        )
        assert got.json()["raw_purged_at"] is not None
        assert got.json()["status"] == "processed"

        # The same message again is still a duplicate: the same id, no new ticket.
        again = await mail.post(box, old)
        assert again.status_code == 200
        assert again.json()["id"] == str(old_row["id"])
        count = await session.scalar(select(func.count()).select_from(InboundEmail))
        assert count == 4
        # A second run finds nothing more; 0 days keeps everything.
        assert await run_job(retention_days=30) == 0
        assert await run_job(retention_days=0, at=mail_settings_now() + timedelta(days=400)) == 0

    async def test_every_batch_is_purged_in_one_run(
        self, mail: Mail, session, run_job, monkeypatch
    ):
        box = await mail.mailbox()
        ids = []
        for n in range(5):
            row = await mail.deliver(
                box, raw_mail(sender=f"s{n}@c.example", to=box.address, message_id=f"m{n}@c.x")
            )
            ids.append(row["id"])
        for inbound_id in ids:
            await age(session, inbound_id, 100)
        monkeypatch.setattr(tasks, "MAIL_PURGE_BATCH", 2)
        assert await run_job(retention_days=90) == 5
        left = await session.scalar(select(func.count()).where(InboundEmail.raw.is_not(None)))
        assert left == 0

    def test_it_is_scheduled_nightly(self):
        assert tasks.SCHEDULE["mail_raw_purge"] == "40 3 * * *"
