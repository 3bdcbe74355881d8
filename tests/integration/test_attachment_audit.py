"""Attachment uploads, binding and deletion are audited by trigger, with the actor context."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from helpline.db import ActorContext, set_actor_context
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_attachment, make_message, make_ticket

pytestmark = pytest.mark.integration


async def events(session, attachment_id):
    rows = await session.execute(
        text(
            "SELECT action, actor_type, actor_id, request_id, changes FROM audit_log "
            "WHERE entity_type = 'attachment' AND entity_id = :id ORDER BY id"
        ),
        {"id": str(attachment_id)},
    )
    return rows.all()


async def test_upload_bind_delete_are_recorded_with_actor(session, cast: Cast):
    await set_actor_context(
        session,
        ActorContext(actor_type="user", actor_id=str(cast.alice.id), request_id="req-att-1"),
    )
    attachment_id = await make_attachment(session, cast.alice.id, content=b"%PDF-1.7 report")
    ticket_id = await make_ticket(session, cast.alice.id)
    message_id = await make_message(session, ticket_id, cast.alice.id)
    await session.execute(
        text("UPDATE attachments SET conversation_id = :m WHERE id = :a"),
        {"m": message_id, "a": attachment_id},
    )
    await session.execute(text("DELETE FROM attachments WHERE id = :a"), {"a": attachment_id})

    rows = await events(session, attachment_id)
    assert [r.action for r in rows] == [
        "attachment.uploaded",
        "attachment.bound",
        "attachment.deleted",
    ]
    assert {(r.actor_type, r.actor_id, r.request_id) for r in rows} == {
        ("user", cast.alice.id, "req-att-1")
    }
    assert rows[0].changes["size"] == len(b"%PDF-1.7 report")
    assert rows[1].changes["conversation_id"] == str(message_id)
    assert rows[2].changes["was_bound"] is True
    assert all("content" not in r.changes for r in rows)


async def test_unrelated_update_writes_no_event(session, cast: Cast):
    attachment_id = await make_attachment(session, cast.agent.id)
    await session.execute(
        text("UPDATE attachments SET filename = 'renamed.txt' WHERE id = :a"), {"a": attachment_id}
    )
    assert [r.action for r in await events(session, attachment_id)] == ["attachment.uploaded"]
