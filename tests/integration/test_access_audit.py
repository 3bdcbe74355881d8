"""Audit completeness: logins and logouts, 404s that hide an existing resource (IDOR attempts),
and GraphQL permission denials — recorded like REST's 401/403 (buffered, flushed)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from helpline.models import AuditLog
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_ticket
from tests.integration.test_sessions import LOGIN, make_login_user

pytestmark = pytest.mark.integration


def rid() -> str:
    return f"req-{uuid.uuid4().hex[:12]}"


async def audit_rows(session, **where) -> list[AuditLog]:
    stmt = select(AuditLog).filter_by(**where).order_by(AuditLog.id)
    return list((await session.execute(stmt)).scalars())


class TestLoginAndLogout:
    async def test_login_and_logout_are_recorded(self, app, client, session):
        from tests.integration.test_sessions import PASSWORD

        user = await make_login_user(session)
        login_rid = rid()
        r = await client.post(
            LOGIN,
            json={"email": user.email, "password": PASSWORD},
            headers={"X-Request-ID": login_rid},
        )
        assert r.status_code == 200, r.text
        csrf = r.json()["csrf_token"]
        logout_rid = rid()
        out = await client.post(
            "/api/v1/auth/logout", headers={"X-CSRF-Token": csrf, "X-Request-ID": logout_rid}
        )
        assert out.status_code == 204
        await app.state.services.audit.flush()
        (login,) = await audit_rows(session, action="auth.login", request_id=login_rid)
        assert (login.actor_type, login.actor_id, login.outcome) == ("user", user.id, "success")
        assert (login.entity_type, login.entity_id) == ("user", str(user.id))
        assert PASSWORD not in str(login.changes)
        (logout,) = await audit_rows(session, action="auth.logout", request_id=logout_rid)
        assert (logout.actor_type, logout.actor_id, logout.outcome) == ("user", user.id, "success")

    async def test_a_wrong_password_records_no_login(self, app, client, session):
        user = await make_login_user(session)
        request_id = rid()
        r = await client.post(
            LOGIN,
            json={"email": user.email, "password": "not-the-password-1"},
            headers={"X-Request-ID": request_id},
        )
        assert r.status_code == 401
        await app.state.services.audit.flush()
        assert await audit_rows(session, action="auth.login", request_id=request_id) == []
        assert len(await audit_rows(session, action="auth.failed", request_id=request_id)) == 1


class TestWhoAmIProbe:
    async def test_me_without_credentials_is_not_a_failed_authentication(
        self, app, client, session, settings
    ):
        probe, bad_cookie, other = rid(), rid(), rid()
        r = await client.get("/api/v1/auth/me", headers={"X-Request-ID": probe})
        assert r.status_code == 401
        assert r.json()["type"] == "/problems/unauthenticated"
        client.cookies.set(settings.session_cookie_name, "not-a-session")
        r = await client.get("/api/v1/auth/me", headers={"X-Request-ID": bad_cookie})
        assert r.status_code == 401
        client.cookies.clear()
        r = await client.get("/api/v1/tickets", headers={"X-Request-ID": other})
        assert r.status_code == 401
        await app.state.services.audit.flush()
        assert await audit_rows(session, request_id=probe) == []
        # presented-but-bad credentials, and anonymous calls elsewhere, are still recorded
        assert len(await audit_rows(session, action="auth.failed", request_id=bad_cookie)) == 1
        assert len(await audit_rows(session, action="auth.failed", request_id=other)) == 1


class TestHiddenResources:
    async def test_another_customers_ticket_is_a_recorded_404(
        self, app, client, cast: Cast, session
    ):
        theirs = await make_ticket(session, cast.bob.id)
        await session.commit()
        hidden_rid, missing_rid = rid(), rid()
        hidden = await client.get(
            f"/api/v1/tickets/{theirs}", headers={**cast.alice.headers, "X-Request-ID": hidden_rid}
        )
        missing = await client.get(
            f"/api/v1/tickets/{uuid.uuid4()}",
            headers={**cast.alice.headers, "X-Request-ID": missing_rid},
        )
        assert hidden.status_code == missing.status_code == 404
        body, other = hidden.json(), missing.json()
        assert {k: v for k, v in body.items() if k not in ("instance", "request_id")} == {
            k: v for k, v in other.items() if k not in ("instance", "request_id")
        }  # the caller cannot tell them apart
        write_rid = rid()
        r = await client.post(
            f"/api/v1/tickets/{theirs}/conversations",
            json={"message": "hi"},
            headers={**cast.alice.headers, "X-Request-ID": write_rid},
        )
        assert r.status_code == 404
        await app.state.services.audit.flush()
        for request_id in (hidden_rid, write_rid):
            (row,) = await audit_rows(session, action="access.not_visible", request_id=request_id)
            assert (row.actor_id, row.outcome) == (cast.alice.id, "denied")
            assert (row.entity_type, row.entity_id) == ("ticket", str(theirs))
        assert await audit_rows(session, request_id=missing_rid) == []

    async def test_another_users_api_key_is_a_recorded_404(self, app, client, cast: Cast, session):
        keys = await client.get("/api/v1/api-keys", headers=cast.bob.headers)
        bobs_key = keys.json()[0]["id"]
        request_id = rid()
        r = await client.get(
            f"/api/v1/api-keys/{bobs_key}",
            headers={**cast.alice.headers, "X-Request-ID": request_id},
        )
        assert r.status_code == 404
        await app.state.services.audit.flush()
        (row,) = await audit_rows(session, action="access.not_visible", request_id=request_id)
        assert (row.entity_type, row.entity_id) == ("api_key", bobs_key)


class TestGraphQLDenials:
    async def test_permission_denial_and_hidden_ticket_are_recorded(
        self, app, client, cast: Cast, session
    ):
        theirs = await make_ticket(session, cast.bob.id)
        await session.commit()
        denied_rid = rid()
        r = await client.post(
            "/graphql",
            json={"query": "{ auditEvents(first: 1) { edges { node { id } } } }"},
            headers={**cast.agent.headers, "X-Request-ID": denied_rid},
        )
        assert r.json()["errors"][0]["extensions"]["code"] == "permission-denied"
        hidden_rid = rid()
        r = await client.post(
            "/graphql",
            json={
                "query": "query($id: ID!) { ticket(id: $id) { id } }",
                "variables": {"id": str(theirs)},
            },
            headers={**cast.alice.headers, "X-Request-ID": hidden_rid},
        )
        body = r.json()
        assert body["data"]["ticket"] is None or body["errors"][0]["extensions"]["status"] == 404
        await app.state.services.audit.flush()
        (row,) = await audit_rows(session, action="permission.denied", request_id=denied_rid)
        assert (row.actor_id, row.outcome) == (cast.agent.id, "denied")
        assert row.changes["path"] == "/graphql"
        (row,) = await audit_rows(session, action="access.not_visible", request_id=hidden_rid)
        assert (row.entity_type, row.entity_id) == ("ticket", str(theirs))
