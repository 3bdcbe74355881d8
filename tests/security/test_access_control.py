"""Access control end to end: credentials, scopes, ownership, demotion, rotation boundaries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.routing import iter_route_contexts

from helpline.auth import repository as auth_repository
from helpline.auth.keys import generate_key
from helpline.models.enums import Role
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_message, make_metadata, make_raw_api_key, make_ticket

pytestmark = pytest.mark.security

PROTECTED = ["/api/v1/auth/me", "/api/v1/api-keys", "/api/v1/users", "/api/v1/tickets"]
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def bad_checksum_key() -> str:
    key = generate_key()
    last = "1" if key[-1] != "1" else "2"
    return key[:-1] + last


def ticket_routes(app) -> list[tuple[str, str]]:
    out = []
    for context in iter_route_contexts(app.routes):
        path = context.path or ""
        if path.startswith("/api/v1/tickets"):
            out += [(m, path) for m in sorted(context.methods or ()) if m != "HEAD"]
    return out


def body_for(method: str, path: str) -> dict | None:
    if method == "GET" or method == "DELETE":
        return None
    if path.endswith("/conversations"):
        return {"message": "hi"}
    if "/metadata/" in path:
        return {"value": 1}
    if path.endswith("/presence"):
        return {"state": "viewing"}
    if path.endswith("/draft"):
        return {"body": "draft"}
    if path.endswith("/read"):
        return {"version": 1}
    if "/tags/" in path:
        return None
    if path.endswith("/bulk"):
        return {"ticket_ids": [str(uuid.uuid4())], "changes": {"status": "open"}}
    return {"title": "changed"}


def fill(path: str, ticket_id: uuid.UUID) -> str:
    return (
        path.replace("{ticket_id}", str(ticket_id)).replace("{key}", "plan").replace("{tag}", "vip")
    )


class TestCredentials:
    @pytest.mark.parametrize("path", PROTECTED)
    async def test_missing_malformed_bad_checksum_unknown_are_401(self, client, path):
        for headers in (
            {},
            {"Authorization": "Bearer"},
            {"Authorization": "Token abc"},
            {"X-API-Key": "hl_tooshort"},
            bearer(bad_checksum_key()),
            bearer(generate_key()),
        ):
            r = await client.get(path, headers=headers)
            assert r.status_code == 401, (path, headers, r.text)
            assert r.headers["content-type"] == "application/problem+json"

    async def test_expired_and_revoked_are_401(self, client, session, cast: Cast, clock):
        expired = await make_raw_api_key(
            session, cast.agent.id, expires_at=clock() - timedelta(seconds=1)
        )
        revoked = await make_raw_api_key(session, cast.agent.id, revoked_at=datetime.now(UTC))
        await session.commit()
        for path in PROTECTED:
            r = await client.get(path, headers=bearer(expired))
            assert r.status_code == 401
            assert r.json()["type"] == "/problems/api-key-expired"
            r = await client.get(path, headers=bearer(revoked))
            assert r.status_code == 401
            assert r.json()["type"] == "/problems/unauthenticated"

    async def test_malformed_keys_never_reach_the_database(self, client, monkeypatch):
        async def forbidden(*_args, **_kwargs):
            raise AssertionError("a malformed key reached the key lookup")

        monkeypatch.setattr(auth_repository, "lookup_key", forbidden)
        for key in ("hl_short", bad_checksum_key(), "x" * 49, "hl_" + "!" * 46):
            r = await client.get("/api/v1/auth/me", headers=bearer(key))
            assert r.status_code == 401
            assert r.json()["type"] == "/problems/unauthenticated"
            assert key not in r.text  # the credential is never echoed


class TestScopes:
    async def test_read_only_key_gets_403_on_every_ticket_write(
        self, app, client, session, cast: Cast
    ):
        tid = await make_ticket(session, cast.alice.id)
        key = await make_raw_api_key(session, cast.agent.id, scopes=["tickets:read"])
        await session.commit()
        writes = [(m, p) for m, p in ticket_routes(app) if m in WRITE_METHODS]
        assert len(writes) >= 5
        for method, path in writes:
            r = await client.request(
                method, fill(path, tid), json=body_for(method, path), headers=bearer(key)
            )
            assert r.status_code == 403, (method, path, r.text)
            assert r.json()["type"] == "/problems/permission-denied"

    async def test_key_scopes_are_capped_by_the_current_role(self, client, session, cast: Cast):
        key = await make_raw_api_key(
            session, cast.alice.id, scopes=["tickets:read", "users:read", "users:write"]
        )
        await session.commit()
        me = await client.get("/api/v1/auth/me", headers=bearer(key))
        assert me.json()["scopes"] == ["tickets:read"]
        assert (await client.get("/api/v1/users", headers=bearer(key))).status_code == 403

    async def test_demoted_admin_key_loses_admin_routes_at_once(self, client, session, cast: Cast):
        other_admin = await make_raw_api_key(
            session, cast.admin.id, scopes=["users:read", "users:write"]
        )
        await session.commit()
        assert (await client.get("/api/v1/users", headers=bearer(other_admin))).status_code == 200
        r = await client.post(
            "/api/v1/users",
            json={"email": "demote-me@example.com", "name": "Temp", "role": "admin"},
            headers=cast.admin.headers,
        )
        temp_id = r.json()["id"]
        temp_key = (
            await client.post(
                "/api/v1/api-keys",
                json={"name": "t", "user_id": temp_id},
                headers=cast.admin.headers,
            )
        ).json()["key"]
        assert (await client.get("/api/v1/users", headers=bearer(temp_key))).status_code == 200
        r = await client.patch(
            f"/api/v1/users/{temp_id}", json={"role": "customer"}, headers=cast.admin.headers
        )
        assert r.status_code == 200
        for method, path in (("GET", "/api/v1/users"), ("POST", "/api/v1/users")):
            body = (
                {"email": "x@example.com", "name": "X", "role": "admin"}
                if method == "POST"
                else None
            )
            r = await client.request(method, path, json=body, headers=bearer(temp_key))
            assert r.status_code == 403, (method, path)
        me = await client.get("/api/v1/auth/me", headers=bearer(temp_key))
        assert me.json()["role"] == "customer"
        assert "users:write" not in me.json()["scopes"]


class TestOwnership:
    async def test_customer_b_gets_404_on_every_route_of_a_ticket(
        self, app, client, session, cast: Cast
    ):
        tid = await make_ticket(session, cast.alice.id, title="Alice private")
        await make_metadata(session, tid, "plan", "gold")
        await make_message(session, tid, cast.alice.id, message="alice only")
        await session.commit()
        ghost = uuid.uuid4()
        routes = [(m, p) for m, p in ticket_routes(app) if "{ticket_id}" in p]
        assert len(routes) >= 6
        for method, path in routes:
            body = body_for(method, path)
            real = await client.request(
                method, fill(path, tid), json=body, headers=cast.bob.headers
            )
            fake = await client.request(
                method, fill(path, ghost), json=body, headers=cast.bob.headers
            )
            assert real.status_code == fake.status_code, (method, path, real.text, fake.text)
            assert real.status_code in (403, 404), (method, path)
            assert real.json()["type"] == fake.json()["type"]
            assert "Alice private" not in real.text
            assert "alice only" not in real.text
            assert "gold" not in real.text
        listed = await client.get(
            "/api/v1/tickets", params={"customer_id": str(cast.alice.id)}, headers=cast.bob.headers
        )
        assert listed.json()["data"] == []
        mine = await client.get(f"/api/v1/tickets/{tid}", headers=cast.alice.headers)
        assert mine.json()["title"] == "Alice private"

    async def test_bulk_change_is_refused_to_customers_alike_for_any_ticket(
        self, client, session, cast: Cast
    ):
        alices = await make_ticket(session, cast.alice.id, title="Alice private")
        bobs = await make_ticket(session, cast.bob.id)
        await session.commit()
        answers = []
        for ids in ([alices], [bobs], [uuid.uuid4()], [alices, bobs]):
            r = await client.post(
                "/api/v1/tickets/bulk",
                json={"ticket_ids": [str(i) for i in ids], "changes": {"status": "solved"}},
                headers=cast.bob.headers,
            )
            assert "Alice private" not in r.text
            answers.append((r.status_code, r.json()["type"]))
        assert answers == [(403, "/problems/permission-denied")] * 4
        for tid in (alices, bobs):
            got = await client.get(f"/api/v1/tickets/{tid}", headers=cast.agent.headers)
            assert got.json()["status"] == "new"

    async def test_mass_assignment_is_rejected(self, client, cast: Cast):
        attempts = [
            ("PATCH", f"/api/v1/users/{cast.alice.id}", {"role": "admin"}, cast.alice, 403),
            (
                "POST",
                "/api/v1/api-keys",
                {"name": "x", "user_id": str(cast.bob.id)},
                cast.alice,
                403,
            ),
            ("POST", "/api/v1/api-keys", {"name": "x", "scopes": ["audit:read"]}, cast.agent, 422),
            ("POST", "/api/v1/api-keys", {"name": "x", "key_hash": "00"}, cast.alice, 422),
            ("PATCH", f"/api/v1/users/{cast.alice.id}", {"email": "a@b.cd"}, cast.admin, 422),
            ("PATCH", f"/api/v1/users/{cast.alice.id}", {"id": str(uuid.uuid4())}, cast.admin, 422),
        ]
        for method, path, body, actor, expected in attempts:
            r = await client.request(method, path, json=body, headers=actor.headers)
            assert r.status_code == expected, (method, path, body, r.text)
        me = await client.get("/api/v1/auth/me", headers=cast.alice.headers)
        assert me.json()["role"] == "customer"
        assert me.json()["email"] == cast.alice.email


class TestRotationGrace:
    @pytest.mark.parametrize("grace", [1, 3600, 86400])
    async def test_old_key_works_until_the_grace_period_ends(
        self, client, clock, cast: Cast, grace
    ):
        old = (
            await client.post("/api/v1/api-keys", json={"name": "svc"}, headers=cast.agent.headers)
        ).json()
        new = (
            await client.post(
                f"/api/v1/api-keys/{old['id']}/rotate",
                json={"grace_period_seconds": grace},
                headers=cast.agent.headers,
            )
        ).json()
        clock.advance(seconds=grace - 1)
        assert (await client.get("/api/v1/auth/me", headers=bearer(old["key"]))).status_code == 200
        clock.advance(seconds=2)
        r = await client.get("/api/v1/auth/me", headers=bearer(old["key"]))
        assert r.status_code == 401
        assert r.json()["type"] == "/problems/api-key-expired"
        assert (await client.get("/api/v1/auth/me", headers=bearer(new["key"]))).status_code == 200
        again = await client.post(
            f"/api/v1/api-keys/{new['id']}/rotate", json={}, headers=cast.agent.headers
        )
        assert again.status_code == 201  # the old key is no longer live: a new rotation may start


@pytest.mark.parametrize("role", [Role.agent])
async def test_session_cookie_cannot_be_replaced_by_a_forged_one(client, role):
    client.cookies.set("helpline_session", "A" * 43)
    r = await client.post("/api/v1/auth/logout")
    assert r.status_code == 401
    assert r.json()["type"] == "/problems/session-expired"
    assert "set-cookie" not in r.headers  # a forged cookie is neither renewed nor replaced


def report_routes(app) -> list[str]:
    return sorted(
        context.path
        for context in iter_route_contexts(app.routes)
        if (context.path or "").startswith("/api/v1/reports/")
    )


class TestReports:
    PERIOD = {"period_start": "2026-11-01T00:00:00Z", "period_end": "2026-12-01T00:00:00Z"}

    async def test_every_report_is_for_staff_with_tickets_read(
        self, app, client, session, cast: Cast
    ):
        narrow = await make_raw_api_key(session, cast.agent.id, scopes=["users:read"])
        await session.commit()
        routes = report_routes(app)
        assert len(routes) == 6, routes
        for path in routes:
            assert (await client.get(path, params=self.PERIOD)).status_code == 401, path
            r = await client.get(path, params=self.PERIOD, headers=cast.alice.headers)
            assert r.status_code == 403
            assert r.json()["type"] == "/problems/permission-denied"
            r = await client.get(path, params=self.PERIOD, headers=bearer(narrow))
            assert r.status_code == 403, path
            r = await client.get(path, params=self.PERIOD, headers=cast.agent.headers)
            assert r.status_code == 200, path
            assert isinstance(r.json()["buckets"], list), path
            r = await client.get(path, params=self.PERIOD, headers=cast.admin.headers)
            assert r.status_code == 200, path
