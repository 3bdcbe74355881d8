"""Who may read, bind and upload attachments: the message's visibility, 404 for the rest."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from helpline.models import Attachment
from tests.fixtures import attachments as fixtures
from tests.fixtures.actors import Cast
from tests.fixtures.attachments import (
    API,
    blob_files,
    new_ticket,
    png,
    post_message,
    upload,
)

app = fixtures.app
attachment_settings = fixtures.attachment_settings
attachments_root = fixtures.attachments_root

pytestmark = pytest.mark.security


async def readable(client, headers, ident: str) -> tuple[int, int]:
    descriptor = await client.get(f"{API}/{ident}", headers=headers)
    content = await client.get(f"{API}/{ident}/content", headers=headers)
    return descriptor.status_code, content.status_code


async def bound_attachment(client, cast: Cast, author, *, internal: bool = False) -> str:
    tid = await new_ticket(client, cast.alice.headers)
    ident = (await upload(client, author.headers, png(2_000))).json()["id"]
    r = await post_message(client, author.headers, tid, [ident], is_internal=internal)
    assert r.status_code == 201, r.text
    return str(ident)


class TestAttachmentVisibility:
    async def test_other_customer_cannot_read_bound_attachment(self, client, cast: Cast):
        ident = await bound_attachment(client, cast, cast.alice)
        assert await readable(client, cast.bob.headers, ident) == (404, 404)
        assert await readable(client, cast.alice.headers, ident) == (200, 200)
        assert await readable(client, cast.agent.headers, ident) == (200, 200)

    async def test_customer_cannot_read_internal_note_attachment(self, client, cast: Cast):
        ident = await bound_attachment(client, cast, cast.agent, internal=True)
        assert await readable(client, cast.alice.headers, ident) == (404, 404)
        assert await readable(client, cast.bob.headers, ident) == (404, 404)
        assert await readable(client, cast.agent.headers, ident) == (200, 200)
        assert await readable(client, cast.admin.headers, ident) == (200, 200)
        listing = await client.get(f"/api/v1/attachments/{ident}", headers=cast.alice.headers)
        assert listing.json()["type"] == "/problems/attachment-not-found"

    async def test_unbound_upload_is_visible_to_its_uploader_only(self, client, cast: Cast):
        ident = (await upload(client, cast.alice.headers, png(2_000))).json()["id"]
        assert await readable(client, cast.alice.headers, ident) == (200, 200)
        for other in (cast.bob, cast.agent, cast.admin):
            assert await readable(client, other.headers, ident) == (404, 404)

    async def test_deleted_ticket_hides_its_attachments_from_customers(self, client, cast: Cast):
        tid = await new_ticket(client, cast.alice.headers)
        ident = (await upload(client, cast.alice.headers, png(2_000))).json()["id"]
        await post_message(client, cast.alice.headers, tid, [ident])
        assert (
            await client.delete(f"/api/v1/tickets/{tid}", headers=cast.agent.headers)
        ).status_code == 204
        assert await readable(client, cast.alice.headers, ident) == (404, 404)


class TestAttachmentBinding:
    async def test_cannot_bind_someone_elses_upload(self, client, cast: Cast):
        alice_upload = (await upload(client, cast.alice.headers, png(2_000))).json()["id"]
        bob_ticket = await new_ticket(client, cast.bob.headers)
        r = await post_message(client, cast.bob.headers, bob_ticket, [alice_upload])
        assert r.status_code == 422
        assert r.json()["type"] == "/problems/attachment-not-bindable"
        staff = await post_message(client, cast.agent.headers, bob_ticket, [alice_upload])
        assert staff.status_code == 422
        assert await readable(client, cast.bob.headers, alice_upload) == (404, 404)
        descriptor = await client.get(f"{API}/{alice_upload}", headers=cast.alice.headers)
        assert descriptor.json()["message_id"] is None

    async def test_cannot_bind_into_a_ticket_one_cannot_see(self, client, cast: Cast):
        alice_ticket = await new_ticket(client, cast.alice.headers)
        bob_upload = (await upload(client, cast.bob.headers, png(2_000))).json()["id"]
        r = await post_message(client, cast.bob.headers, alice_ticket, [bob_upload])
        assert r.status_code == 404
        assert r.json()["type"] == "/problems/ticket-not-found"
        descriptor = await client.get(f"{API}/{bob_upload}", headers=cast.bob.headers)
        assert descriptor.json()["message_id"] is None  # still unbound, still Bob's
        thread = await client.get(
            f"/api/v1/tickets/{alice_ticket}/conversations", headers=cast.alice.headers
        )
        assert thread.json()["data"] == []


class TestUploadAccess:
    async def test_anonymous_upload_is_401_and_nothing_stored(
        self, client, session, attachments_root
    ):
        r = await client.post(API, files={"file": ("a.png", png(2_000), "image/png")})
        assert r.status_code == 401
        count = (await session.execute(select(func.count()).select_from(Attachment))).scalar_one()
        assert count == 0
        assert blob_files(attachments_root) == []

    async def test_download_cannot_be_rendered_inline(self, client, cast: Cast):
        text = b"hello\n<script>alert(1)</script>\n"
        ident = (await upload(client, cast.alice.headers, text, "x.html", "text/html")).json()["id"]
        r = await client.get(f"{API}/{ident}/content", headers=cast.alice.headers)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain")
        assert r.headers["content-disposition"].startswith("attachment;")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in r.headers["content-security-policy"]
