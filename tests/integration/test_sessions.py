"""Login sessions: cookie, CSRF, logout, and the ways a session ends."""

from __future__ import annotations

import uuid

import httpx
import pytest

from helpline.models.enums import Role
from helpline.user import service as user_service
from helpline.user.schemas import UserCreate
from tests.fixtures.actors import Cast

pytestmark = pytest.mark.integration

PASSWORD = "tangerine-Kettle-47-orbit"
LOGIN = "/api/v1/auth/login"


async def make_login_user(session, role: Role = Role.agent):
    email = f"web-{uuid.uuid4().hex[:8]}@example.com"
    row = await user_service.create_user(
        session, UserCreate(email=email, name="Web User", role=role, password=PASSWORD)
    )
    await session.commit()
    return row


async def log_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post(LOGIN, json={"email": email, "password": password})


class TestLogin:
    async def test_login_sets_hardened_cookie_and_session_works(self, client, session):
        user = await make_login_user(session)
        r = await log_in(client, user.email.upper())
        assert r.status_code == 200, r.text
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Path=/" in cookie
        assert "Secure" not in cookie  # test profile; Secure outside development/test
        body = r.json()
        assert body["user"]["id"] == str(user.id)
        assert body["csrf_token"]
        me = await client.get("/api/v1/auth/me")
        assert me.status_code == 200
        assert me.json()["authenticated_by"] == "session"
        assert "ratelimit" in me.headers

    async def test_unknown_email_and_wrong_password_look_the_same(self, client, session):
        user = await make_login_user(session)
        wrong = await log_in(client, user.email, "not-the-password-123")
        unknown = await log_in(client, "nobody-" + user.email)
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json()["type"] == unknown.json()["type"] == "/problems/invalid-credentials"
        assert wrong.json()["detail"] == unknown.json()["detail"]
        assert "set-cookie" not in wrong.headers

    async def test_user_without_password_or_inactive_cannot_log_in(
        self, client, session, db, cast: Cast
    ):
        no_password = await log_in(client, cast.agent.email)
        assert no_password.status_code == 401
        assert no_password.json()["type"] == "/problems/invalid-credentials"
        assert "set-cookie" not in no_password.headers
        user = await make_login_user(session)
        gone = await client.delete(f"/api/v1/users/{user.id}", headers=cast.admin.headers)
        assert gone.status_code in (200, 204), gone.text
        inactive = await log_in(client, user.email)
        assert inactive.status_code == 401
        # An inactive account is not told apart from a wrong password.
        same = ("type", "title", "status", "detail")
        assert [inactive.json()[k] for k in same] == [no_password.json()[k] for k in same]
        assert "set-cookie" not in inactive.headers
        assert client.cookies.get("helpline_session") is None

    async def test_login_is_rate_limited_per_account(self, client, session, settings):
        user = await make_login_user(session)
        statuses = [
            (await log_in(client, user.email, "wrong-password-xyz")).status_code
            for _ in range(settings.login_rate_limit_per_account_per_minute + 1)
        ]
        assert statuses[:-1] == [401] * settings.login_rate_limit_per_account_per_minute
        assert statuses[-1] == 429
        r = await log_in(client, user.email)
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1


class TestCsrf:
    async def test_unsafe_methods_need_the_csrf_token(self, client, session, cast: Cast):
        user = await make_login_user(session)
        csrf = (await log_in(client, user.email)).json()["csrf_token"]
        ticket = {"title": "From the web", "customer_id": str(cast.alice.id)}
        r = await client.post("/api/v1/tickets", json=ticket)
        assert r.status_code == 403
        assert r.json()["type"] == "/problems/csrf-token-invalid"
        r = await client.post("/api/v1/tickets", json=ticket, headers={"X-CSRF-Token": "nope"})
        assert r.status_code == 403
        r = await client.post("/api/v1/tickets", json=ticket, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 201, r.text
        assert (await client.get("/api/v1/tickets")).status_code == 200  # safe: no token needed


class TestSessionEnd:
    async def test_logout_ends_the_session(self, client, session):
        user = await make_login_user(session)
        csrf = (await log_in(client, user.email)).json()["csrf_token"]
        cookie = client.cookies.get("helpline_session")
        r = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 204
        client.cookies.set("helpline_session", cookie)  # a stolen copy is useless too
        r = await client.get("/api/v1/auth/me")
        assert r.status_code == 401
        assert r.json()["type"] == "/problems/session-expired"

    async def test_deactivation_ends_sessions(self, client, session, cast: Cast):
        user = await make_login_user(session)
        await log_in(client, user.email)
        cookie = client.cookies.get("helpline_session")
        client.cookies.clear()
        r = await client.delete(f"/api/v1/users/{user.id}", headers=cast.admin.headers)
        assert r.status_code == 204
        client.cookies.set("helpline_session", cookie)
        r = await client.get("/api/v1/auth/me")
        assert r.status_code == 401
        assert r.json()["type"] == "/problems/session-expired"
        client.cookies.clear()
        r = await client.patch(
            f"/api/v1/users/{user.id}", json={"is_active": True}, headers=cast.admin.headers
        )
        assert r.json()["is_active"] is True
        client.cookies.set("helpline_session", cookie)
        r = await client.get("/api/v1/auth/me")
        assert r.status_code == 401  # reactivation revives nothing
        assert r.json()["type"] == "/problems/session-expired"

    async def test_password_change_ends_sessions(self, client, session, cast: Cast):
        user = await make_login_user(session)
        await log_in(client, user.email)
        cookie = client.cookies.get("helpline_session")
        client.cookies.clear()
        r = await client.patch(
            f"/api/v1/users/{user.id}",
            json={"password": "another-Strong-pass-99"},
            headers=cast.admin.headers,
        )
        assert r.status_code == 200
        client.cookies.set("helpline_session", cookie)
        r = await client.get("/api/v1/auth/me")
        assert r.status_code == 401
        assert r.json()["type"] == "/problems/session-expired"
        client.cookies.clear()
        assert (await log_in(client, user.email)).json()["type"] == "/problems/invalid-credentials"
        r = await log_in(client, user.email, "another-Strong-pass-99")
        assert r.status_code == 200
        assert r.json()["user"]["id"] == str(user.id)
        me = await client.get("/api/v1/auth/me")
        assert (me.json()["authenticated_by"], me.json()["id"]) == ("session", str(user.id))

    async def test_demotion_applies_to_the_session_at_once(self, client, session, cast: Cast):
        user = await make_login_user(session, Role.admin)
        await log_in(client, user.email)
        r = await client.get("/api/v1/users")
        assert r.status_code == 200
        assert str(user.id) in {u["id"] for u in r.json()["data"]}
        cookie = client.cookies.get("helpline_session")
        client.cookies.clear()
        r = await client.patch(
            f"/api/v1/users/{user.id}", json={"role": "customer"}, headers=cast.admin.headers
        )
        assert r.json()["role"] == "customer"
        client.cookies.set("helpline_session", cookie)
        r = await client.get("/api/v1/users")
        assert r.status_code == 403
        assert r.json()["type"] == "/problems/permission-denied"
        me = await client.get("/api/v1/auth/me")  # the same session, with the new role
        assert (me.json()["id"], me.json()["role"]) == (str(user.id), "customer")

    async def test_garbage_cookie_is_401(self, client):
        client.cookies.set("helpline_session", "x" * 43)
        r = await client.get("/api/v1/auth/me")
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == "/problems/session-expired"


class TestLoginCommitsFirst:
    async def test_a_failed_commit_leaves_no_session(self, client, session, redis, settings):
        from sqlalchemy import event
        from sqlalchemy.exc import OperationalError
        from sqlalchemy.orm import Session

        user = await make_login_user(session)
        failing: list[bool] = []

        def fail_commit(sync_session) -> None:
            if failing:  # as if the connection broke at COMMIT
                raise OperationalError("COMMIT", {}, ConnectionResetError("connection lost"))

        event.listen(Session, "before_commit", fail_commit)
        failing.append(True)
        try:
            r = await log_in(client, user.email)
        finally:
            event.remove(Session, "before_commit", fail_commit)
        assert r.status_code == 503
        assert "set-cookie" not in r.headers
        prefix = settings.redis_key_prefix
        assert [k async for k in redis.scan_iter(match=f"{{{prefix}:sessions}}:session:*")] == []
        assert not await redis.exists(f"{{{prefix}:sessions}}:user:{user.id}")
        ok = await log_in(client, user.email)  # and a login that commits opens one
        assert ok.status_code == 200
        assert (
            len([k async for k in redis.scan_iter(match=f"{{{prefix}:sessions}}:session:*")]) == 1
        )


class TestLoginDuringRedisOutage:
    async def test_right_and_wrong_password_get_the_same_503(
        self, settings, db, clock, session, tmp_path
    ):
        from helpline.app import create_app
        from helpline.runtime import make_redis
        from tests.fixtures.redis_server import redis_server

        user = await make_login_user(session)
        with redis_server(tmp_path) as server:
            custom = settings.model_copy(update={"redis_url": server.url})
            redis_client = make_redis(custom)
            application = create_app(
                custom, background=False, database=db, redis=redis_client, clock=clock
            )
            try:
                async with application.router.lifespan_context(application):
                    transport = httpx.ASGITransport(app=application)
                    async with httpx.AsyncClient(
                        transport=transport, base_url="http://helpline.test"
                    ) as c:
                        server.kill()
                        right = await log_in(c, user.email)
                        wrong = await log_in(c, user.email, "not-the-password-123")
                        unknown = await log_in(c, "nobody-" + user.email)
            finally:
                await redis_client.aclose()
        for r in (right, wrong, unknown):
            assert r.status_code == 503, r.text
            assert "set-cookie" not in r.headers
        assert right.json()["type"] == wrong.json()["type"] == "/problems/service-unavailable"
        assert right.json()["detail"] == wrong.json()["detail"] == unknown.json()["detail"]

    async def test_every_attempt_is_503_never_the_fallback_limiters_429(
        self, settings, db, clock, session, tmp_path
    ):
        from helpline.app import create_app
        from helpline.runtime import make_redis
        from tests.fixtures.redis_server import redis_server

        user = await make_login_user(session)
        attempts = settings.login_rate_limit_per_ip_per_minute + 3
        with redis_server(tmp_path) as server:
            custom = settings.model_copy(update={"redis_url": server.url})
            redis_client = make_redis(custom)
            application = create_app(custom, database=db, redis=redis_client, clock=clock)
            try:
                async with application.router.lifespan_context(application):
                    transport = httpx.ASGITransport(app=application)
                    async with httpx.AsyncClient(
                        transport=transport, base_url="http://helpline.test"
                    ) as c:
                        server.kill()
                        answers = [
                            await log_in(c, user.email, PASSWORD if i % 2 else "wrong-pass-1234")
                            for i in range(attempts)
                        ]
            finally:
                await redis_client.aclose()
        assert [r.status_code for r in answers] == [503] * attempts
        assert {r.json()["type"] for r in answers} == {"/problems/service-unavailable"}
        assert len({r.json()["detail"] for r in answers}) == 1
        assert not any("set-cookie" in r.headers for r in answers)


class TestLoginWhoseSessionWasNotStored:
    async def test_redis_dying_after_the_check_fails_the_login_and_changes_nothing(
        self, settings, db, clock, session, tmp_path, monkeypatch
    ):
        from sqlalchemy import text

        from helpline.account import service as account_service
        from helpline.app import create_app
        from helpline.runtime import make_redis
        from tests.fixtures.redis_server import redis_server

        user = await make_login_user(session)
        with redis_server(tmp_path) as server:
            real_verify = account_service.verify_password

            async def verify_then_lose_redis(password_hash, password):  # type: ignore[no-untyped-def]
                server.kill()  # after the store's check, before the session is written
                return await real_verify(password_hash, password)

            monkeypatch.setattr(account_service, "verify_password", verify_then_lose_redis)
            custom = settings.model_copy(update={"redis_url": server.url})
            redis_client = make_redis(custom)
            application = create_app(custom, database=db, redis=redis_client, clock=clock)
            try:
                async with application.router.lifespan_context(application):
                    transport = httpx.ASGITransport(app=application)
                    async with httpx.AsyncClient(
                        transport=transport, base_url="http://helpline.test"
                    ) as c:
                        r = await log_in(c, user.email)
            finally:
                await redis_client.aclose()
        assert r.status_code == 503, r.text
        assert r.json()["type"] == "/problems/service-unavailable"
        assert "set-cookie" not in r.headers
        assert "csrf_token" not in r.text
        last_login = await session.scalar(
            text("SELECT last_login_at FROM users WHERE id = :id"), {"id": user.id}
        )
        assert last_login is None  # the login rolled back
