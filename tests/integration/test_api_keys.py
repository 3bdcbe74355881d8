"""The API key lifecycle through the REST API: create, list, get, revoke, rotate, last use."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from helpline.models import ApiKey
from tests.fixtures.actors import Cast

pytestmark = pytest.mark.integration

API = "/api/v1/api-keys"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class TestCreate:
    async def test_create_shows_secret_once_and_key_works(self, client, cast: Cast):
        r = await client.post(
            API,
            json={"name": "ci", "scopes": ["tickets:read"], "rate_limit_per_minute": 50},
            headers=cast.agent.headers,
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["key"].startswith("hl_")
        assert body["key"].startswith(body["prefix"])
        assert body["scopes"] == ["tickets:read"]
        assert body["rate_limit_per_minute"] == 50
        assert body["user_id"] == str(cast.agent.id)
        assert body["lineage_id"] == body["id"]
        assert r.headers["location"] == f"{API}/{body['id']}"
        me = await client.get("/api/v1/auth/me", headers=bearer(body["key"]))
        assert me.status_code == 200
        assert me.json()["scopes"] == ["tickets:read"]
        listed = await client.get(API, headers=cast.agent.headers)
        assert body["key"] not in listed.text
        assert {k["id"] for k in listed.json()} >= {body["id"]}
        got = await client.get(f"{API}/{body['id']}", headers=cast.agent.headers)
        assert "key" not in got.json()
        assert got.json()["prefix"] == body["prefix"]

    async def test_scopes_beyond_role_are_rejected(self, client, cast: Cast):
        r = await client.post(
            API, json={"name": "x", "scopes": ["users:write"]}, headers=cast.alice.headers
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "scopes"]

    async def test_default_scopes_are_the_role(self, client, cast: Cast):
        r = await client.post(API, json={"name": "x"}, headers=cast.alice.headers)
        assert set(r.json()["scopes"]) == {"tickets:read", "tickets:write", "api_keys:write"}

    async def test_expiry_must_be_in_the_future(self, client, cast: Cast):
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        r = await client.post(
            API, json={"name": "x", "expires_at": past}, headers=cast.alice.headers
        )
        assert r.status_code == 422

    async def test_only_admins_create_for_others(self, client, cast: Cast):
        body = {"name": "x", "user_id": str(cast.bob.id)}
        assert (await client.post(API, json=body, headers=cast.alice.headers)).status_code == 403
        r = await client.post(API, json=body, headers=cast.admin.headers)
        assert r.status_code == 201
        assert r.json()["user_id"] == str(cast.bob.id)
        assert set(r.json()["scopes"]) <= {"tickets:read", "tickets:write", "api_keys:write"}

    async def test_unknown_fields_rejected(self, client, cast: Cast):
        for extra in ({"id": str(uuid.uuid4())}, {"key_hash": "00"}, {"revoked_at": None}):
            r = await client.post(API, json={"name": "x", **extra}, headers=cast.alice.headers)
            assert r.status_code == 422, extra


class TestVisibility:
    async def test_others_keys_are_404_and_list_needs_admin(self, client, cast: Cast):
        created = await client.post(API, json={"name": "b"}, headers=cast.bob.headers)
        key_id = created.json()["id"]
        for method in ("GET", "DELETE"):
            r = await client.request(method, f"{API}/{key_id}", headers=cast.alice.headers)
            assert r.status_code == 404
            assert r.json()["type"] == "/problems/api-key-not-found"
        r = await client.post(f"{API}/{key_id}/rotate", json={}, headers=cast.alice.headers)
        assert r.status_code == 404
        r = await client.get(API, params={"user_id": str(cast.bob.id)}, headers=cast.alice.headers)
        assert r.status_code == 403
        r = await client.get(API, params={"user_id": str(cast.bob.id)}, headers=cast.admin.headers)
        assert key_id in {k["id"] for k in r.json()}
        assert (await client.get(f"{API}/{key_id}", headers=cast.admin.headers)).status_code == 200

    async def test_key_without_api_keys_scope_cannot_manage_keys(self, client, cast: Cast):
        r = await client.post(
            API, json={"name": "t", "scopes": ["tickets:read"]}, headers=cast.alice.headers
        )
        limited = bearer(r.json()["key"])
        assert (await client.get(API, headers=limited)).status_code == 403
        assert (await client.post(API, json={"name": "y"}, headers=limited)).status_code == 403


class TestRevoke:
    async def test_revoked_key_stops_at_once(self, client, cast: Cast):
        created = (await client.post(API, json={"name": "r"}, headers=cast.alice.headers)).json()
        assert (
            await client.get("/api/v1/auth/me", headers=bearer(created["key"]))
        ).status_code == 200
        r = await client.delete(f"{API}/{created['id']}", headers=cast.alice.headers)
        assert r.status_code == 204
        r = await client.get("/api/v1/auth/me", headers=bearer(created["key"]))
        assert r.status_code == 401
        assert r.json()["detail"] == "The API key has been revoked."
        again = await client.delete(f"{API}/{created['id']}", headers=cast.alice.headers)
        assert again.status_code == 204
        got = await client.get(f"{API}/{created['id']}", headers=cast.alice.headers)
        assert got.json()["revoked_at"] is not None


class TestRotate:
    async def test_rotation_keeps_attributes_and_links_lineage(self, client, cast: Cast, clock):
        old = (
            await client.post(
                API,
                json={"name": "svc", "scopes": ["tickets:read"], "rate_limit_per_minute": 77},
                headers=cast.agent.headers,
            )
        ).json()
        r = await client.post(f"{API}/{old['id']}/rotate", json={}, headers=cast.agent.headers)
        assert r.status_code == 201, r.text
        new = r.json()
        assert new["key"] != old["key"]
        assert new["id"] != old["id"]
        for field in ("name", "scopes", "rate_limit_per_minute", "user_id", "lineage_id"):
            assert new[field] == old[field], field
        assert new["rotated_from_id"] == old["id"]
        old_now = (await client.get(f"{API}/{old['id']}", headers=cast.agent.headers)).json()
        expected = clock() + timedelta(seconds=86400)
        assert abs(datetime.fromisoformat(old_now["expires_at"]) - expected) < timedelta(seconds=1)
        for key in (old["key"], new["key"]):
            assert (await client.get("/api/v1/auth/me", headers=bearer(key))).status_code == 200

    async def test_a_key_in_its_grace_period_cannot_mint_keys(self, client, cast: Cast, session):
        old = (await client.post(API, json={"name": "svc"}, headers=cast.agent.headers)).json()
        other = (await client.post(API, json={"name": "other"}, headers=cast.agent.headers)).json()
        new = (await client.post(f"{API}/{old['id']}/rotate", headers=cast.agent.headers)).json()
        before = len((await session.execute(select(ApiKey.id))).all())
        for minted in (
            await client.post(API, json={"name": "minted"}, headers=bearer(old["key"])),
            await client.post(f"{API}/{other['id']}/rotate", json={}, headers=bearer(old["key"])),
        ):
            assert minted.status_code == 403, minted.text
            assert minted.json()["type"] == "/problems/permission-denied"
            assert "rotat" in minted.json()["detail"]
        assert len((await session.execute(select(ApiKey.id))).all()) == before
        # it still reads, and the new key mints
        assert (await client.get(API, headers=bearer(old["key"]))).status_code == 200
        r = await client.post(API, json={"name": "minted"}, headers=bearer(new["key"]))
        assert r.status_code == 201

    async def test_second_live_key_in_lineage_is_409(self, client, cast: Cast):
        old = (await client.post(API, json={"name": "svc"}, headers=cast.alice.headers)).json()
        new = (await client.post(f"{API}/{old['id']}/rotate", headers=cast.alice.headers)).json()
        for target in (old["id"], new["id"]):
            r = await client.post(f"{API}/{target}/rotate", json={}, headers=cast.alice.headers)
            assert r.status_code == 409
            assert r.json()["type"] == "/problems/api-key-not-rotatable"

    async def test_grace_zero_ends_old_key_now_and_allows_next_rotation(self, client, cast: Cast):
        old = (await client.post(API, json={"name": "svc"}, headers=cast.alice.headers)).json()
        r = await client.post(
            f"{API}/{old['id']}/rotate",
            json={"grace_period_seconds": 0},
            headers=cast.alice.headers,
        )
        new = r.json()
        r = await client.get("/api/v1/auth/me", headers=bearer(old["key"]))
        assert r.status_code == 401
        assert r.json()["type"] == "/problems/api-key-expired"
        again = await client.post(f"{API}/{new['id']}/rotate", json={}, headers=cast.alice.headers)
        assert again.status_code == 201

    async def test_grace_is_bounded(self, client, cast: Cast):
        old = (await client.post(API, json={"name": "svc"}, headers=cast.alice.headers)).json()
        for grace in (-1, 30 * 24 * 3600 + 1):
            r = await client.post(
                f"{API}/{old['id']}/rotate",
                json={"grace_period_seconds": grace},
                headers=cast.alice.headers,
            )
            assert r.status_code == 422, grace

    async def test_revoked_key_cannot_be_rotated(self, client, cast: Cast):
        old = (await client.post(API, json={"name": "svc"}, headers=cast.alice.headers)).json()
        await client.delete(f"{API}/{old['id']}", headers=cast.alice.headers)
        r = await client.post(f"{API}/{old['id']}/rotate", json={}, headers=cast.alice.headers)
        assert r.status_code == 409


class TestLastUsed:
    async def test_last_used_recorded_outside_the_request_in_one_batch(
        self, app, client, session, cast: Cast, clock
    ):
        created = (await client.post(API, json={"name": "u"}, headers=cast.alice.headers)).json()
        key_id = uuid.UUID(created["id"])
        headers = bearer(created["key"])
        assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
        # A refused request still counts as a use: the key was presented and recognised.
        r = await client.get(f"/api/v1/tickets/{uuid.uuid4()}", headers=headers)
        assert r.status_code == 404

        async def last_used():
            return (
                await session.execute(
                    select(ApiKey.last_used_at)
                    .where(ApiKey.id == key_id)
                    .execution_options(populate_existing=True)
                )
            ).scalar_one()

        assert await last_used() is None  # nothing written on the request path
        assert await app.state.services.key_use.flush() >= 1
        assert await last_used() == clock()
        assert await app.state.services.key_use.flush() == 0  # nothing new: no statement at all


class TestCommandLine:
    def test_keys_create_refuses_a_past_expiry_like_the_api(self, make_database, tmp_path):
        import os
        import subprocess
        import sys
        from pathlib import Path

        url = make_database()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELPLINE_")}
        env.update(HELPLINE_ENV="test", HELPLINE_DATABASE_URL=url, HELPLINE_VAR_DIR=str(tmp_path))
        helpline = str(Path(sys.executable).parent / "helpline")

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([helpline, *args], env=env, capture_output=True, text=True)

        made = cli("users", "create", "--role", "agent", "--email", "cli@example.com")
        assert made.returncode == 0, made.stderr
        past = cli("keys", "create", "--email", "cli@example.com", "--expires-at", "2020-01-01")
        assert past.returncode == 1
        assert "expires_at must be in the future" in past.stderr
        listed = cli("keys", "list", "--email", "cli@example.com")
        assert listed.stdout.count("hl_") == 1  # only the key `users create` printed
        future = cli("keys", "create", "--email", "cli@example.com", "--expires-at", "2999-01-01")
        assert future.returncode == 0, future.stderr
        assert future.stdout.strip().startswith("hl_")


class TestNoScopeEscalation:
    """A key hands on at most its own scopes; a cookie session, its role's."""

    async def _narrow_key(self, client, actor) -> dict:
        r = await client.post(
            API, json={"name": "narrow", "scopes": ["api_keys:write"]}, headers=actor.headers
        )
        assert r.status_code == 201, r.text
        return r.json()

    async def _key_count(self, session) -> int:
        return len((await session.execute(select(ApiKey.id))).all())

    async def test_a_narrow_key_cannot_create_a_broader_key(self, client, cast: Cast, session):
        narrow = await self._narrow_key(client, cast.agent)
        before = await self._key_count(session)
        r = await client.post(
            API,
            json={"name": "wide", "scopes": ["tickets:read", "tickets:write"]},
            headers=bearer(narrow["key"]),
        )
        assert r.status_code == 403, r.text
        body = r.json()
        assert body["type"] == "/problems/scope-not-grantable"
        assert body["scopes"] == ["tickets:read", "tickets:write"]
        assert "key" not in body
        assert await self._key_count(session) == before

    async def test_without_scopes_a_key_grants_the_role_within_its_own(self, client, cast: Cast):
        narrow = await self._narrow_key(client, cast.agent)
        r = await client.post(API, json={"name": "default"}, headers=bearer(narrow["key"]))
        assert r.status_code == 201, r.text
        assert r.json()["scopes"] == ["api_keys:write"]
        me = await client.get("/api/v1/auth/me", headers=bearer(r.json()["key"]))
        assert me.json()["scopes"] == ["api_keys:write"]

    async def test_an_admin_key_cannot_grant_another_user_more_than_it_holds(
        self, client, cast: Cast
    ):
        r = await client.post(
            API,
            json={"name": "audit-only", "scopes": ["audit:read", "api_keys:write"]},
            headers=cast.admin.headers,
        )
        admin_narrow = bearer(r.json()["key"])
        for_agent = {"name": "x", "user_id": str(cast.agent.id), "scopes": ["tickets:read"]}
        refused = await client.post(API, json=for_agent, headers=admin_narrow)
        assert refused.status_code == 403
        assert refused.json()["type"] == "/problems/scope-not-grantable"
        default = await client.post(
            API, json={"name": "x", "user_id": str(cast.agent.id)}, headers=admin_narrow
        )
        assert default.status_code == 201
        assert default.json()["scopes"] == ["api_keys:write"]  # agent role ∩ the admin key

    async def test_a_narrow_key_cannot_rotate_a_broader_key(self, client, cast: Cast, session):
        wide = (await client.post(API, json={"name": "wide"}, headers=cast.agent.headers)).json()
        narrow = await self._narrow_key(client, cast.agent)
        before = await self._key_count(session)
        r = await client.post(f"{API}/{wide['id']}/rotate", json={}, headers=bearer(narrow["key"]))
        assert r.status_code == 403, r.text
        assert r.json()["type"] == "/problems/scope-not-grantable"
        assert "key" not in r.json()
        assert await self._key_count(session) == before
        still = (await client.get(f"{API}/{wide['id']}", headers=cast.agent.headers)).json()
        assert still["expires_at"] is None  # no grace period started
        # a key rotates itself, and a full key rotates the narrow one
        own = await client.post(
            f"{API}/{narrow['id']}/rotate", json={}, headers=bearer(narrow["key"])
        )
        assert own.status_code == 201, own.text
        assert own.json()["scopes"] == ["api_keys:write"]

    async def test_a_cookie_session_grants_the_roles_scopes(self, client, session):
        from tests.integration.test_sessions import log_in, make_login_user

        user = await make_login_user(session)
        login = await log_in(client, user.email)
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        r = await client.post(API, json={"name": "web"}, headers=csrf)
        assert r.status_code == 201, r.text
        assert r.json()["scopes"] == sorted(
            ["tickets:read", "tickets:write", "users:read", "api_keys:write"]
        )

    async def test_graphql_refuses_the_same_escalation(self, client, cast: Cast, session):
        narrow = await self._narrow_key(client, cast.agent)
        before = await self._key_count(session)
        r = await client.post(
            "/graphql",
            json={
                "query": 'mutation { createApiKey(input: {name: "w", scopes: ["tickets:read"]})'
                " { key apiKey { scopes } } }"
            },
            headers=bearer(narrow["key"]),
        )
        body = r.json()
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["scope-not-grantable"]
        assert body["errors"][0]["extensions"]["status"] == 403
        assert await self._key_count(session) == before
        ok = await client.post(
            "/graphql",
            json={
                "query": 'mutation { createApiKey(input: {name: "d"}) { key apiKey { scopes } } }'
            },
            headers=bearer(narrow["key"]),
        )
        assert ok.json()["data"]["createApiKey"]["apiKey"]["scopes"] == ["api_keys:write"]
