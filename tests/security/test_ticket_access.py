"""Authentication and ownership on every ticket route."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from helpline.auth.keys import generate_key
from helpline.models.enums import Role
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_message, make_raw_api_key, make_ticket, make_user

pytestmark = pytest.mark.security

API = "/api/v1/tickets"


class TestAuthentication:
    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"Authorization": "Bearer"},
            {"Authorization": "Basic dXNlcjpwYXNz"},
            {"Authorization": "Bearer hl_short"},
            {"Authorization": "Bearer " + generate_key()[:-1] + "0"},  # bad checksum (usually)
            {"X-API-Key": "not-a-key"},
        ],
    )
    async def test_bad_credentials_are_401_problems(self, client, headers):
        r = await client.get(API, headers=headers)
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == "/problems/unauthenticated"
        assert r.headers["www-authenticate"].startswith("Bearer")

    async def test_well_formed_unknown_key_is_401(self, client):
        r = await client.get(API, headers={"Authorization": f"Bearer {generate_key()}"})
        assert r.status_code == 401
        assert r.json()["detail"] == "The API key is not recognised."

    async def test_x_api_key_header_works(self, client, cast: Cast):
        r = await client.get(API, headers={"X-API-Key": cast.alice.key})
        assert r.status_code == 200
        assert r.json()["data"] == []

    async def test_expired_key_is_401_api_key_expired(self, client, session, clock):
        user = await make_user(session, Role.agent)
        # Relative to the app's clock (fixed when the fixture was made), not the wall clock: a
        # slow setup must not leave the key still valid.
        key = await make_raw_api_key(session, user.id, expires_at=clock() - timedelta(seconds=1))
        await session.commit()
        r = await client.get(API, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 401
        assert r.json()["type"] == "/problems/api-key-expired"

    async def test_revoked_key_is_401(self, client, session):
        user = await make_user(session, Role.agent)
        key = await make_raw_api_key(session, user.id, revoked_at=datetime.now(UTC))
        await session.commit()
        r = await client.get(API, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 401
        assert r.json()["detail"] == "The API key has been revoked."

    async def test_read_only_key_cannot_write(self, client, session, cast: Cast):
        key = await make_raw_api_key(session, cast.agent.id, scopes=["tickets:read"])
        await session.commit()
        headers = {"Authorization": f"Bearer {key}"}
        assert (await client.get(API, headers=headers)).status_code == 200
        r = await client.post(
            API, json={"title": "x", "customer_id": str(cast.alice.id)}, headers=headers
        )
        assert r.status_code == 403
        assert r.json()["type"] == "/problems/permission-denied"

    async def test_secret_never_echoed(self, client, cast: Cast):
        r = await client.get(f"{API}/{uuid.uuid4()}", headers=cast.alice.headers)
        assert cast.alice.key not in r.text


class TestCustomerIsolation:
    async def test_customer_b_cannot_reach_customer_a_ticket_anywhere(
        self, client, session, cast: Cast
    ):
        tid = await make_ticket(session, cast.alice.id, title="Alice's secret")
        await make_message(session, tid, cast.alice.id, message="private")
        await session.commit()
        bob = cast.bob.headers
        attempts = [
            ("GET", f"{API}/{tid}", None),
            ("PATCH", f"{API}/{tid}", {"title": "pwned"}),
            ("GET", f"{API}/{tid}/metadata", None),
            ("GET", f"{API}/{tid}/conversations", None),
            ("POST", f"{API}/{tid}/conversations", {"message": "hi"}),
        ]
        for method, path, body in attempts:
            r = await client.request(method, path, json=body, headers=bob)
            assert r.status_code == 404, (method, path, r.text)
            assert "secret" not in r.text
        listed = await client.get(API, params={"customer_id": str(cast.alice.id)}, headers=bob)
        assert listed.json()["data"] == []
        searched = await client.get(API, params={"q": "secret"}, headers=bob)
        assert searched.json()["data"] == []
        still = await client.get(f"{API}/{tid}", headers=cast.alice.headers)
        assert still.json()["title"] == "Alice's secret"
        assert still.json()["version"] == 1

    async def test_mass_assignment_rejected(self, client, cast: Cast):
        for body in (
            {"title": "x", "id": str(uuid.uuid4())},
            {"title": "x", "version": 9},
            {"title": "x", "customer_id": str(cast.bob.id)},
        ):
            r = await client.post(API, json=body, headers=cast.alice.headers)
            assert r.status_code in (403, 422), body
        listed = await client.get(API, headers=cast.alice.headers)
        assert listed.json()["data"] == []
