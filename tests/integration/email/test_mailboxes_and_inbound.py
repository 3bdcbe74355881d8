"""Mailboxes (admin REST + GraphQL), credentials at rest, and the signed inbound endpoint."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from helpline.app import create_app
from helpline.models import InboundEmail, Mailbox
from tests.fixtures.actors import Cast
from tests.fixtures.mail_channel import INBOUND, MAILBOXES, Mail, raw_mail

pytestmark = pytest.mark.integration

IMAP_URL = "imaps://support%40example.com:Sup3r-S3cret@imap.example.com:993/INBOX"


class TestMailboxAdmin:
    async def test_create_shows_the_secret_once_and_never_the_credentials(
        self, client, cast: Cast, session
    ):
        r = await client.post(
            MAILBOXES,
            json={"address": "Help@Example.com", "imap_url": IMAP_URL, "auto_acknowledge": True},
            headers=cast.admin.headers,
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["address"] == "help@example.com"
        assert body["inbound"] == "imap"
        assert body["inbound_secret"].startswith("whsec_")
        assert "Sup3r-S3cret" not in r.text
        assert "imap_url" not in body
        got = await client.get(f"{MAILBOXES}/{body['id']}", headers=cast.admin.headers)
        assert "inbound_secret" not in got.json()
        assert "Sup3r-S3cret" not in got.text
        row = (await session.execute(select(Mailbox))).scalars().one()
        assert b"Sup3r-S3cret" not in row.imap_url_encrypted
        assert body["inbound_secret"].encode() not in row.inbound_secret_encrypted
        audit = (
            await session.execute(
                text("SELECT changes::text FROM audit_log WHERE action = 'mailbox.created'")
            )
        ).scalar_one()
        assert "Sup3r" not in audit
        assert "encrypted" not in audit

    async def test_address_is_unique_case_insensitively(self, client, cast: Cast):
        r1 = await client.post(
            MAILBOXES, json={"address": "a@x.example"}, headers=cast.admin.headers
        )
        r2 = await client.post(
            MAILBOXES, json={"address": "A@X.example"}, headers=cast.admin.headers
        )
        assert r1.status_code == 201
        assert r2.status_code == 409
        assert r2.json()["type"] == "/problems/mailbox-address-taken"

    async def test_agents_and_customers_are_refused(self, client, cast: Cast):
        for actor in (cast.agent, cast.alice):
            r = await client.post(MAILBOXES, json={"address": "x@x.example"}, headers=actor.headers)
            assert r.status_code == 403
            assert r.json()["type"] == "/problems/permission-denied"
            r = await client.get(MAILBOXES, headers=actor.headers)
            assert r.status_code == 403

    async def test_update_disable_and_bad_urls(self, client, cast: Cast, session):
        box = (
            await client.post(
                MAILBOXES, json={"address": "u@x.example"}, headers=cast.admin.headers
            )
        ).json()
        r = await client.patch(
            f"{MAILBOXES}/{box['id']}",
            json={"imap_url": "http://nope.example"},
            headers=cast.admin.headers,
        )
        assert r.status_code == 422
        r = await client.patch(
            f"{MAILBOXES}/{box['id']}",
            json={"imap_url": IMAP_URL, "allow_unknown_senders": False},
            headers=cast.admin.headers,
        )
        assert r.json()["inbound"] == "imap"
        assert r.json()["allow_unknown_senders"] is False
        r = await client.post(f"{MAILBOXES}/{box['id']}/disable", headers=cast.admin.headers)
        assert r.json()["is_active"] is False
        actions = (
            await session.execute(
                text(
                    "SELECT action, changes::text FROM audit_log WHERE entity_type = 'mailbox'"
                    " ORDER BY id"
                )
            )
        ).all()
        assert [a for a, _ in actions] == ["mailbox.created", "mailbox.updated", "mailbox.disabled"]
        assert '"imap_url": "[changed]"' in actions[1][1]
        assert "Sup3r" not in actions[1][1]

    async def test_default_team_is_checked_set_and_cleared(self, client, cast: Cast):
        h = cast.admin.headers
        team = (await client.post("/api/v1/teams", json={"name": "Mail desk"}, headers=h)).json()
        bad = await client.post(
            MAILBOXES,
            json={"address": "teamed@example.com", "default_team_id": str(uuid.uuid4())},
            headers=h,
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["loc"] == ["body", "default_team_id"]
        box = await client.post(
            MAILBOXES,
            json={"address": "teamed@example.com", "default_team_id": team["id"]},
            headers=h,
        )
        assert box.status_code == 201, box.text
        assert box.json()["default_team_id"] == team["id"]
        url = f"{MAILBOXES}/{box.json()['id']}"
        cleared = await client.patch(url, json={"default_team_id": None}, headers=h)
        assert cleared.status_code == 200, cleared.text
        assert cleared.json()["default_team_id"] is None
        again = await client.patch(url, json={"default_team_id": team["id"]}, headers=h)
        assert again.json()["default_team_id"] == team["id"]

    async def test_test_connection_reports_without_credentials(self, client, cast: Cast):
        box = (
            await client.post(
                MAILBOXES,
                json={
                    "address": "t@x.example",
                    "imap_url": "imap://u:Pw-Secret-1@127.0.0.1:9/INBOX",
                    "smtp_url": "smtp://u:Pw-Secret-2@127.0.0.1:9",
                },
                headers=cast.admin.headers,
            )
        ).json()
        r = await client.post(
            f"{MAILBOXES}/{box['id']}/test-connection", headers=cast.admin.headers
        )
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")
        body = r.json()
        assert body["type"] == "/problems/mailbox-connection-failed"
        assert body["imap"]["ok"] is False
        assert body["smtp"]["ok"] is False
        assert body["detail"].startswith("IMAP: ")
        assert "; SMTP: " in body["detail"]
        assert "Pw-Secret" not in r.text

    async def test_graphql_mailboxes(self, client, cast: Cast):
        create = (
            "mutation($i: CreateMailboxInput!) { createMailbox(input: $i) "
            "{ inboundSecret mailbox { id address inbound isActive } } }"
        )
        r = await client.post(
            "/graphql",
            json={
                "query": create,
                "variables": {"i": {"address": "g@x.example", "imapUrl": IMAP_URL}},
            },
            headers=cast.admin.headers,
        )
        data = r.json()["data"]["createMailbox"]
        assert data["inboundSecret"].startswith("whsec_")
        assert data["mailbox"]["inbound"] == "imap"
        r = await client.post(
            "/graphql", json={"query": "{ mailboxes { address } }"}, headers=cast.agent.headers
        )
        assert r.json()["data"] is None
        assert r.json()["errors"][0]["extensions"]["type"] == "/problems/permission-denied"


class TestInboundEndpoint:
    async def test_signed_mail_is_stored_raw_and_queued_once(self, mail: Mail, session):
        box = await mail.mailbox()
        raw = raw_mail(sender="carol@customer.example", to=box.address, message_id="m1@c.example")
        r = await mail.post(box, raw)
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "received"
        again = await mail.post(box, raw)
        assert again.status_code == 200
        assert again.json()["id"] == r.json()["id"]
        rows = (await session.execute(select(InboundEmail))).scalars().all()
        assert len(rows) == 1
        assert rows[0].raw == raw
        assert rows[0].source == "http"
        assert rows[0].message_id == "m1@c.example"
        assert await mail.jobs("helpline:process_inbound_email") == [{"id": r.json()["id"]}]

    async def test_without_message_id_the_bytes_are_the_key(self, mail: Mail, session):
        box = await mail.mailbox()
        raw = b"From: x@y.example\r\nSubject: hi\r\n\r\nbody\r\n"
        first = await mail.post(box, raw)
        second = await mail.post(box, raw)
        other = await mail.post(box, raw + b"more\r\n")
        assert first.json()["id"] == second.json()["id"] != other.json()["id"]

    async def test_bad_or_missing_signature_is_401_and_stores_nothing(self, mail: Mail, session):
        box = await mail.mailbox()
        raw = raw_mail(sender="x@y.example", to=box.address)
        headers = mail.sign(box, raw)
        headers["webhook-signature"] = "v1,AAAA"
        r = await mail.client.post(f"{INBOUND}/{box.id}", content=raw, headers=headers)
        assert r.status_code == 401
        assert r.json()["type"] == "/problems/inbound-signature-invalid"
        r = await mail.client.post(
            f"{INBOUND}/{box.id}", content=raw, headers={"content-type": "message/rfc822"}
        )
        assert r.status_code == 401
        r = await mail.client.post(
            f"{INBOUND}/{uuid.uuid4()}", content=raw, headers=mail.sign(box, raw)
        )
        assert r.status_code == 401  # an unknown mailbox looks the same
        stale = mail.sign(box, raw)
        stale["webhook-timestamp"] = str(int(stale["webhook-timestamp"]) - 3600)
        r = await mail.client.post(f"{INBOUND}/{box.id}", content=raw, headers=stale)
        assert r.status_code == 401
        assert (await session.execute(select(InboundEmail))).first() is None

    async def test_wrong_type_415_disabled_409(self, mail: Mail, client, cast: Cast):
        box = await mail.mailbox()
        raw = raw_mail(sender="x@y.example", to=box.address)
        headers = {**mail.sign(box, raw), "content-type": "text/plain"}
        r = await client.post(f"{INBOUND}/{box.id}", content=raw, headers=headers)
        assert r.status_code == 415
        await client.post(f"{MAILBOXES}/{box.id}/disable", headers=cast.admin.headers)
        r = await mail.post(box, raw)
        assert r.status_code == 409
        assert r.json()["type"] == "/problems/mailbox-disabled"

    async def test_too_large_is_413(self, mail: Mail, mail_settings, db, redis, clock, session):
        box = await mail.mailbox()
        small = mail_settings.model_copy(update={"mail_max_bytes": 2048})
        application = create_app(small, background=False, database=db, redis=redis, clock=clock)
        import httpx

        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://h.test") as c:
                raw = raw_mail(sender="x@y.example", to=box.address, body="x" * 5000)
                r = await c.post(f"{INBOUND}/{box.id}", content=raw, headers=mail.sign(box, raw))
        assert r.status_code == 413
        assert r.json()["type"] == "/problems/inbound-email-too-large"
        assert (await session.execute(select(InboundEmail))).first() is None


async def test_explicit_null_urls_are_accepted_not_a_500(client, cast: Cast):
    r = await client.post(
        MAILBOXES,
        json={"address": "n@x.example", "imap_url": None, "smtp_url": None},
        headers=cast.admin.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["inbound"] == "http"
    r = await client.post(
        MAILBOXES,
        json={"address": "m@x.example", "imap_url": "imap://h/" + "x" * 3000},
        headers=cast.admin.headers,
    )
    assert r.status_code == 422


async def test_mail_routes_document_their_problem_types(app):
    """The OpenAPI responses name each route's own problem classes (with examples), not bare
    statuses: a client can tell `mailbox-address-taken` from a generic conflict."""
    doc = app.openapi()

    def slugs(path: str, method: str) -> set[str]:
        responses = doc["paths"][path][method]["responses"].values()
        return {
            slug
            for r in responses
            for slug in r.get("content", {}).get("application/problem+json", {}).get("examples", {})
        }

    expected = {
        ("/api/v1/mailboxes", "post"): {
            "mailbox-address-taken",
            "mailbox-default-changed",
            "permission-denied",
            "csrf-token-invalid",
            "idempotency-key-reused",
            "validation-error",
        },
        ("/api/v1/mailboxes/{mailbox_id}", "patch"): {
            "mailbox-not-found",
            "mailbox-default-changed",
        },
        ("/api/v1/mailboxes/{mailbox_id}/test-connection", "post"): {
            "mailbox-not-found",
            "mailbox-connection-failed",
        },
        ("/api/v1/inbound/email/{mailbox_id}", "post"): {
            "inbound-signature-invalid",
            "mailbox-disabled",
            "inbound-email-too-large",
            "unsupported-media-type",
        },
        ("/api/v1/inbound-emails", "get"): {"invalid-cursor", "permission-denied"},
        ("/api/v1/inbound-emails/{inbound_id}/replay", "post"): {
            "inbound-email-not-found",
            "inbound-email-not-quarantined",
        },
        ("/api/v1/email-suppressions/{address}", "delete"): {"email-suppression-not-found"},
    }
    for (path, method), wanted in expected.items():
        assert wanted <= slugs(path, method), (method, path, slugs(path, method))
    # The signed inbound route takes no credentials: no session or API-key problems.
    inbound = slugs("/api/v1/inbound/email/{mailbox_id}", "post")
    assert not inbound & {"session-expired", "api-key-expired", "csrf-token-invalid"}
    # No mail route falls back to the generic conflict or not-found problem.
    for path, item in doc["paths"].items():
        if "mail" in path or "inbound" in path:
            for method in item:
                assert not slugs(path, method) & {"conflict", "not-found"}, (method, path)
