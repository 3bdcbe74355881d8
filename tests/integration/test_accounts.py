"""Accounts: rehash on login, self-service password change, admin-issued password reset."""

from __future__ import annotations

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from helpline.kit.passwords import needs_rehash
from helpline.models import User
from tests.fixtures.actors import Cast
from tests.integration.test_sessions import LOGIN, PASSWORD, make_login_user

pytestmark = pytest.mark.integration

NEW_PASSWORD = "violet-Harbour-93-quartz"


def other_client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://h.test")


async def log_in(client, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post(LOGIN, json={"email": email, "password": password})


async def stored_hash(session, user_id) -> str:
    session.expire_all()
    return (
        await session.execute(select(User.password_hash).where(User.id == user_id))
    ).scalar_one()


class TestRehashOnLogin:
    async def test_an_old_parameter_hash_is_replaced_at_login(self, app, client, session):
        user = await make_login_user(session)
        weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
        await session.execute(update(User).where(User.id == user.id).values(password_hash=weak))
        await session.commit()
        assert needs_rehash(weak)
        r = await log_in(client, user.email)
        assert r.status_code == 200, r.text
        renewed = await stored_hash(session, user.id)
        assert renewed != weak
        assert not needs_rehash(renewed)
        assert (await client.get("/api/v1/auth/me")).status_code == 200  # the new session holds
        async with other_client(app) as again:
            assert (await log_in(again, user.email)).status_code == 200
        assert await stored_hash(session, user.id) == renewed  # no second rehash


class TestChangePassword:
    async def test_change_keeps_this_session_and_ends_the_others(self, app, client, session):
        user = await make_login_user(session)
        a = await log_in(client, user.email)
        csrf = {"X-CSRF-Token": a.json()["csrf_token"]}
        before = await stored_hash(session, user.id)
        async with other_client(app) as other:
            assert (await log_in(other, user.email)).status_code == 200
            r = await client.post(
                "/api/v1/auth/password",
                json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                headers=csrf,
            )
            assert r.status_code == 204, r.text
            assert await stored_hash(session, user.id) != before
            me = await client.get("/api/v1/auth/me")
            assert (me.status_code, me.json()["id"]) == (200, str(user.id))
            ended = await other.get("/api/v1/auth/me")
            assert ended.status_code == 401
            assert ended.json()["type"] == "/problems/session-expired"
            old = await log_in(other, user.email)
            assert (old.status_code, old.json()["type"]) == (401, "/problems/invalid-credentials")
            new = await log_in(other, user.email, NEW_PASSWORD)
            assert (new.status_code, new.json()["user"]["id"]) == (200, str(user.id))

    async def test_wrong_current_or_weak_new_password_changes_nothing(self, client, session):
        user = await make_login_user(session)
        before = await stored_hash(session, user.id)
        csrf = {"X-CSRF-Token": (await log_in(client, user.email)).json()["csrf_token"]}
        wrong = await client.post(
            "/api/v1/auth/password",
            json={"current_password": "not-it-at-all-1", "new_password": NEW_PASSWORD},
            headers=csrf,
        )
        assert wrong.status_code == 422
        assert wrong.json()["errors"][0]["loc"] == ["body", "current_password"]
        weak = await client.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": "short"},
            headers=csrf,
        )
        assert weak.status_code == 422
        assert weak.json()["errors"][0]["loc"] == ["body", "new_password"]
        assert await stored_hash(session, user.id) == before
        assert (await client.get("/api/v1/auth/me")).status_code == 200


class TestPasswordReset:
    async def test_admin_issues_and_user_redeems_once(
        self, app, client, cast: Cast, session, redis, settings
    ):
        user = await make_login_user(session)
        url = f"/api/v1/users/{user.id}/password-reset"
        denied = await client.post(url, headers=cast.agent.headers)
        assert denied.status_code == 403
        first = await client.post(url, headers=cast.admin.headers)
        assert first.status_code == 201, first.text
        assert first.headers["cache-control"] == "no-store"
        issued = first.json()
        assert issued["expires_in"] == settings.password_reset_ttl_seconds
        second = (await client.post(url, headers=cast.admin.headers)).json()
        keys = [
            k async for k in redis.scan_iter(match=f"{settings.redis_key_prefix}:password-reset:*")
        ]
        assert len(keys) == 1  # the first token was replaced
        assert 0 < await redis.ttl(keys[0]) <= settings.password_reset_ttl_seconds
        assert issued["token"].encode() not in await redis.get(keys[0])  # only a digest key

        async with other_client(app) as web:
            assert (await log_in(web, user.email)).status_code == 200  # an open session
            redeem = "/api/v1/auth/password-reset"
            replaced = await client.post(
                redeem, json={"token": issued["token"], "new_password": NEW_PASSWORD}
            )
            assert replaced.status_code == 400
            assert replaced.json()["type"] == "/problems/password-reset-token-invalid"
            weak = await client.post(redeem, json={"token": second["token"], "new_password": "x"})
            assert weak.status_code == 422  # and the token is still good:
            ok = await client.post(
                redeem, json={"token": second["token"], "new_password": NEW_PASSWORD}
            )
            assert ok.status_code == 204, ok.text
            assert (await web.get("/api/v1/auth/me")).status_code == 401  # sessions ended
            again = await client.post(
                redeem, json={"token": second["token"], "new_password": NEW_PASSWORD + "x"}
            )
            assert again.status_code == 400
            assert (await log_in(web, user.email)).status_code == 401
            assert (await log_in(web, user.email, NEW_PASSWORD)).status_code == 200

    async def test_unknown_user_is_404(self, client, cast: Cast):
        import uuid

        r = await client.post(
            f"/api/v1/users/{uuid.uuid4()}/password-reset", headers=cast.admin.headers
        )
        assert r.status_code == 404
        assert r.json()["type"] == "/problems/user-not-found"
        assert "token" not in r.json()


class TestGraphQL:
    async def test_change_password_and_issue_a_reset(self, app, client, cast: Cast, session):
        user = await make_login_user(session)
        csrf = {"X-CSRF-Token": (await log_in(client, user.email)).json()["csrf_token"]}
        change = "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { ok } }"
        r = await client.post(
            "/graphql",
            json={
                "query": change,
                "variables": {"i": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}},
            },
            headers=csrf,
        )
        assert r.json()["data"] == {"changePassword": {"ok": True}}, r.text
        assert "errors" not in r.json()
        async with other_client(app) as other:
            assert (await log_in(other, user.email, NEW_PASSWORD)).status_code == 200
        issue = (
            "mutation($i: IssuePasswordResetInput!) {"
            " issuePasswordReset(input: $i) { userId token expiresIn } }"
        )
        variables = {"i": {"userId": str(user.id)}}
        denied = await client.post(
            "/graphql", json={"query": issue, "variables": variables}, headers=cast.agent.headers
        )
        assert denied.json()["errors"][0]["extensions"]["code"] == "permission-denied"
        issued = await client.post(
            "/graphql", json={"query": issue, "variables": variables}, headers=cast.admin.headers
        )
        token = issued.json()["data"]["issuePasswordReset"]["token"]
        redeemed = await client.post(
            "/api/v1/auth/password-reset",
            json={"token": token, "new_password": "saffron-Lantern-58-delta"},
        )
        assert redeemed.status_code == 204
