"""User management through the REST API."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from helpline.db import UnitOfWork
from helpline.errors import LastAdmin
from helpline.models import User
from helpline.models.enums import Role
from helpline.user import service as user_service
from helpline.user.schemas import UserUpdate
from tests.fixtures.actors import Cast

pytestmark = pytest.mark.integration

API = "/api/v1/users"
STRONG = "tangerine-Kettle-47-orbit"


class TestCreate:
    async def test_admin_creates_user_with_hashed_password(self, client, session, cast: Cast):
        body = {"email": "Dana@Example.com", "name": "Dana", "role": "agent", "password": STRONG}
        r = await client.post(API, json=body, headers=cast.admin.headers)
        assert r.status_code == 201, r.text
        user = r.json()
        assert set(user) == {"id", "email", "name", "role", "is_active", "created_at", "updated_at"}
        assert r.headers["location"] == f"{API}/{user['id']}"
        stored = (
            await session.execute(
                select(User.password_hash).where(User.id == uuid.UUID(user["id"]))
            )
        ).scalar_one()
        assert stored.startswith("$argon2id$")
        assert STRONG not in stored

    async def test_email_is_unique_case_insensitively(self, client, cast: Cast):
        body = {"email": "sam@example.com", "name": "Sam", "role": "customer"}
        assert (await client.post(API, json=body, headers=cast.admin.headers)).status_code == 201
        r = await client.post(
            API, json={**body, "email": "SAM@example.COM"}, headers=cast.admin.headers
        )
        assert r.status_code == 409
        assert r.json()["type"] == "/problems/email-taken"

    @pytest.mark.parametrize(
        "password", ["short", "aaaaaaaaaaaaaaaa", "password1234", "lee-the-great-lee"]
    )
    async def test_weak_passwords_rejected(self, client, cast: Cast, password):
        body = {
            "email": "lee@example.com",
            "name": "Lee Great",
            "role": "customer",
            "password": password,
        }
        r = await client.post(API, json=body, headers=cast.admin.headers)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "password"]
        assert password not in r.text

    async def test_only_admins_create(self, client, session, cast: Cast):
        body = {"email": "x@example.com", "name": "X", "role": "admin"}
        for actor in (cast.agent, cast.alice):
            r = await client.post(API, json=body, headers=actor.headers)
            assert r.status_code == 403
            assert r.json()["type"] == "/problems/permission-denied"
        made = await session.scalar(select(User).where(User.email == "x@example.com"))
        assert made is None


class TestRead:
    async def test_agents_list_and_filter(self, client, cast: Cast):
        r = await client.get(
            API, params={"role": "customer", "limit": 100}, headers=cast.agent.headers
        )
        ids = {u["id"] for u in r.json()["data"]}
        assert {str(cast.alice.id), str(cast.bob.id)} <= ids
        assert str(cast.agent.id) not in ids
        r = await client.get(
            API, params={"email": cast.alice.email.upper()}, headers=cast.agent.headers
        )
        assert [u["id"] for u in r.json()["data"]] == [str(cast.alice.id)]
        r = await client.get(API, params={"is_active": "false"}, headers=cast.agent.headers)
        assert all(not u["is_active"] for u in r.json()["data"])

    async def test_keyset_pagination_walks_everything_once(self, client, cast: Cast):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(API, params=params, headers=cast.admin.headers)).json()
            seen += [u["id"] for u in page["data"]]
            cursor = page["meta"]["next_cursor"]
            assert page["meta"]["has_more"] is (cursor is not None)
            if cursor is None:
                break
        assert len(seen) == len(set(seen))
        assert {str(a.id) for a in (cast.admin, cast.agent, cast.alice, cast.bob)} <= set(seen)

    async def test_forged_cursor_is_400(self, client, cast: Cast):
        r = await client.get(API, params={"cursor": "bm9wZQ"}, headers=cast.admin.headers)
        assert r.status_code == 400
        assert r.json()["type"] == "/problems/invalid-cursor"

    async def test_customers_see_only_themselves(self, client, cast: Cast):
        assert (await client.get(API, headers=cast.alice.headers)).status_code == 403
        own = await client.get(f"{API}/{cast.alice.id}", headers=cast.alice.headers)
        assert own.status_code == 200
        assert own.json()["email"] == cast.alice.email
        other = await client.get(f"{API}/{cast.bob.id}", headers=cast.alice.headers)
        assert other.status_code == 404
        assert cast.bob.email not in other.text
        assert (
            await client.get(f"{API}/{cast.bob.id}", headers=cast.agent.headers)
        ).status_code == 200

    async def test_me_for_everyone(self, client, cast: Cast):
        for actor in (cast.admin, cast.agent, cast.alice):
            r = await client.get("/api/v1/auth/me", headers=actor.headers)
            assert r.status_code == 200
            assert r.json()["id"] == str(actor.id)
            assert r.json()["authenticated_by"] == "api_key"


class TestStaffFilter:
    async def test_staff_filter_is_agents_and_admins_in_one_list(self, client, cast: Cast):
        staff = await client.get(
            API, params={"staff": "true", "limit": 100}, headers=cast.agent.headers
        )
        assert staff.status_code == 200
        roles = {u["role"] for u in staff.json()["data"]}
        ids = {u["id"] for u in staff.json()["data"]}
        assert roles == {"agent", "admin"}
        assert {str(cast.agent.id), str(cast.admin.id)} <= ids
        customers = await client.get(
            API, params={"staff": "false", "limit": 100}, headers=cast.agent.headers
        )
        assert {u["role"] for u in customers.json()["data"]} == {"customer"}
        assert str(cast.alice.id) in {u["id"] for u in customers.json()["data"]}


class TestUpdate:
    async def test_admin_updates_and_unknown_fields_rejected(self, client, cast: Cast):
        r = await client.patch(
            f"{API}/{cast.alice.id}", json={"name": "Alice B"}, headers=cast.admin.headers
        )
        assert r.status_code == 200
        assert r.json()["name"] == "Alice B"
        for body in (
            {"email": "new@example.com"},
            {"id": str(uuid.uuid4())},
            {"password_hash": "x"},
            {"created_at": "2020-01-01T00:00:00Z"},
        ):
            r = await client.patch(f"{API}/{cast.alice.id}", json=body, headers=cast.admin.headers)
            assert r.status_code == 422, body

    async def test_non_admins_cannot_update_even_themselves(self, client, session, cast: Cast):
        for actor in (cast.agent, cast.alice):
            r = await client.patch(
                f"{API}/{actor.id}", json={"role": "admin"}, headers=actor.headers
            )
            assert r.status_code == 403
            assert r.json()["type"] == "/problems/permission-denied"
        roles = dict((await session.execute(select(User.id, User.role))).all())
        assert (roles[cast.agent.id], roles[cast.alice.id]) == ("agent", "customer")

    async def test_deactivation_stops_keys_at_once(self, client, cast: Cast):
        assert (await client.get("/api/v1/tickets", headers=cast.bob.headers)).status_code == 200
        r = await client.delete(f"{API}/{cast.bob.id}", headers=cast.admin.headers)
        assert r.status_code == 204
        r = await client.get("/api/v1/tickets", headers=cast.bob.headers)
        assert r.status_code == 401
        r = await client.patch(
            f"{API}/{cast.bob.id}", json={"is_active": True}, headers=cast.admin.headers
        )
        assert r.json()["is_active"] is True
        # Reactivation does not revive the keys: deactivation revoked them.
        assert (await client.get("/api/v1/tickets", headers=cast.bob.headers)).status_code == 401
        keys = await client.get(
            f"/api/v1/api-keys?user_id={cast.bob.id}", headers=cast.admin.headers
        )
        assert keys.json()
        assert all(k["revoked_at"] is not None for k in keys.json())
        fresh = await client.post(
            "/api/v1/api-keys", json={"name": "new", "user_id": str(cast.bob.id)},
            headers=cast.admin.headers,
        )  # fmt: skip
        assert fresh.status_code == 201
        me = await client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {fresh.json()['key']}"}
        )
        assert me.status_code == 200

    async def test_admin_cannot_demote_or_deactivate_themselves(self, client, session, cast: Cast):
        second = await client.post(
            API,
            json={"email": "second-admin@example.com", "name": "Second", "role": "admin"},
            headers=cast.admin.headers,
        )
        assert second.status_code == 201
        for method, body in (("PATCH", {"role": "agent"}), ("PATCH", {"is_active": False})):
            r = await client.request(
                method, f"{API}/{cast.admin.id}", json=body, headers=cast.admin.headers
            )
            assert r.status_code == 403, r.text
            assert r.json()["type"] == "/problems/self-demotion"
        r = await client.delete(f"{API}/{cast.admin.id}", headers=cast.admin.headers)
        assert r.status_code == 403
        assert r.json()["type"] == "/problems/self-demotion"
        renamed = await client.patch(
            f"{API}/{cast.admin.id}", json={"name": "Still admin"}, headers=cast.admin.headers
        )
        assert renamed.status_code == 200  # other changes of oneself are fine
        row = (await session.execute(select(User).where(User.id == cast.admin.id))).scalar_one()
        assert (row.role, row.is_active, row.name) == ("admin", True, "Still admin")
        # Another admin may demote them.
        other = await client.patch(
            f"{API}/{second.json()['id']}", json={"role": "agent"}, headers=cast.admin.headers
        )
        assert other.status_code == 200
        assert other.json()["role"] == "agent"

    async def test_last_admin_cannot_be_demoted(self, client, session, cast: Cast):
        admins = (
            (await session.execute(select(User.id).where(User.role == "admin", User.is_active)))
            .scalars()
            .all()
        )
        for other in admins:
            if other != cast.admin.id:
                r = await client.delete(f"{API}/{other}", headers=cast.admin.headers)
                assert r.status_code == 204

        async def nothing(*_args: object) -> None:
            return None

        # Only a change without an acting admin (the CLI, a job) can reach the last admin now.
        uow = UnitOfWork(sessions=None, _session=session)  # type: ignore[arg-type]
        with pytest.raises(LastAdmin):
            await user_service.update_user(
                uow, cast.admin.id, UserUpdate(role=Role.agent), nothing, nothing
            )

    async def test_unknown_user_is_404(self, client, cast: Cast):
        r = await client.patch(
            f"{API}/{uuid.uuid4()}", json={"name": "x"}, headers=cast.admin.headers
        )
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == "/problems/user-not-found"


class TestInternalEmailDomains:
    @pytest.mark.parametrize("domain", ["helpdesk.local", "support.test", "corp.internal"])
    async def test_internal_domains_are_accepted(self, client, cast: Cast, session, domain):
        email = f"Admin@{domain.upper()}"
        r = await client.post(
            API, json={"email": email, "name": "Intra", "role": "agent"}, headers=cast.admin.headers
        )
        assert r.status_code == 201, r.text
        assert r.json()["email"] == f"Admin@{domain}"
        stored = await session.execute(select(User.email).where(User.id == r.json()["id"]))
        assert stored.scalar_one() == f"Admin@{domain}"

    async def test_syntax_is_still_checked(self, client, cast: Cast):
        for email in ("no-at-sign", "two..dots@helpdesk.local", "a b@helpdesk.local"):
            r = await client.post(
                API, json={"email": email, "name": "X", "role": "agent"}, headers=cast.admin.headers
            )
            assert r.status_code == 422, email
            assert r.json()["errors"][0]["loc"] == ["body", "email"]

    async def test_a_setting_tightens_it(self, settings, db, redis, clock, cast: Cast, session):
        import httpx

        from helpline.app import create_app

        strict = settings.model_copy(update={"email_public_domains_only": True})
        application = create_app(strict, background=False, database=db, redis=redis, clock=clock)
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://h.test") as c:
                body = {"email": "admin@helpdesk.local", "name": "X", "role": "agent"}
                refused = await c.post(API, json=body, headers=cast.admin.headers)
                body["email"] = "admin@helpdesk.example.com"
                accepted = await c.post(API, json=body, headers=cast.admin.headers)
        assert refused.status_code == 422
        assert "special-use" in refused.json()["detail"]
        assert accepted.status_code == 201
        count = await session.execute(select(User.id).where(User.email == "admin@helpdesk.local"))
        assert count.first() is None

    def test_cli_creates_the_seed_admin_address(self, make_database, tmp_path):
        import os
        import subprocess
        import sys
        from pathlib import Path

        env = {k: v for k, v in os.environ.items() if not k.startswith("HELPLINE_")}
        env.update(
            HELPLINE_ENV="test",
            HELPLINE_DATABASE_URL=make_database(),
            HELPLINE_VAR_DIR=str(tmp_path),
        )
        helpline = str(Path(sys.executable).parent / "helpline")
        args = [helpline, "users", "create", "--role", "admin", "--email", "admin@helpdesk.local"]
        done = subprocess.run(args, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().splitlines()[-1].startswith("hl_")
