"""Idempotency-Key on POST through the real app and PostgreSQL (ADR 0007)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text, update

from helpline.models import IdempotencyKey, Ticket
from tests.fixtures.actors import Cast

pytestmark = pytest.mark.integration

API = "/api/v1/tickets"


def keyed(actor, key: str) -> dict[str, str]:
    return {**actor.headers, "Idempotency-Key": key}


async def ticket_count(session) -> int:
    return (await session.execute(select(func.count()).select_from(Ticket))).scalar_one()


class TestIdempotencyKey:
    async def test_replay_returns_the_first_response(self, client, cast: Cast, session):
        before = await ticket_count(session)
        first = await client.post(API, json={"title": "once"}, headers=keyed(cast.alice, "k-1"))
        assert first.status_code == 201
        assert "idempotent-replayed" not in first.headers
        again = await client.post(API, json={"title": "once"}, headers=keyed(cast.alice, "k-1"))
        assert again.status_code == 201
        assert again.content == first.content
        assert again.headers["location"] == first.headers["location"]
        assert again.headers["etag"] == first.headers["etag"]
        assert again.headers["idempotent-replayed"] == "true"
        assert await ticket_count(session) == before + 1

    async def test_same_key_other_body_is_422(self, client, cast: Cast):
        await client.post(API, json={"title": "a"}, headers=keyed(cast.alice, "k-2"))
        r = await client.post(API, json={"title": "b"}, headers=keyed(cast.alice, "k-2"))
        assert r.status_code == 422
        assert r.json()["type"] == "/problems/idempotency-key-reused"

    async def test_keys_belong_to_one_principal(self, client, cast: Cast, session):
        before = await ticket_count(session)
        a = await client.post(API, json={"title": "x"}, headers=keyed(cast.alice, "shared"))
        b = await client.post(API, json={"title": "x"}, headers=keyed(cast.bob, "shared"))
        assert a.status_code == b.status_code == 201
        assert a.json()["id"] != b.json()["id"]
        assert "idempotent-replayed" not in b.headers
        assert await ticket_count(session) == before + 2

    async def test_in_flight_is_409_and_a_stale_claim_is_taken_over(
        self, client, cast: Cast, session
    ):
        body = {"title": "slow"}
        first = await client.post(API, json=body, headers=keyed(cast.alice, "k-3"))
        assert first.status_code == 201
        # Make it look as if that request were still running…
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == "k-3")
            .values(response_status=None, response_body=None, response_headers=None)
        )
        r = await client.post(API, json=body, headers=keyed(cast.alice, "k-3"))
        assert r.status_code == 409
        assert r.json()["type"] == "/problems/idempotency-key-in-flight"
        # …and then as if its process had crashed long ago: the claim is taken over.
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == "k-3")
            .values(created_at=func.now() - text("interval '10 minutes'"))
        )
        r = await client.post(API, json=body, headers=keyed(cast.alice, "k-3"))
        assert r.status_code == 201
        assert "idempotent-replayed" not in r.headers

    async def test_expired_key_runs_again(self, client, cast: Cast, session):
        await client.post(API, json={"title": "old"}, headers=keyed(cast.alice, "k-4"))
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == "k-4")
            .values(created_at=func.now() - text("interval '25 hours'"))
        )
        r = await client.post(API, json={"title": "old"}, headers=keyed(cast.alice, "k-4"))
        assert r.status_code == 201
        assert "idempotent-replayed" not in r.headers

    async def test_client_errors_are_stored_and_conflicts_released(
        self, client, cast: Cast, session
    ):
        bad = {"title": "x", "customer_id": str(cast.agent.id)}  # not a customer → 422
        r1 = await client.post(API, json=bad, headers=keyed(cast.admin, "k-5"))
        r2 = await client.post(API, json=bad, headers=keyed(cast.admin, "k-5"))
        assert r1.status_code == r2.status_code == 422
        assert r2.headers["idempotent-replayed"] == "true"
        # a 403 (role or scope may change) is not stored: the key can be used again
        r = await client.post(
            API, json={"title": "x", "priority": "urgent"}, headers=keyed(cast.alice, "k-6")
        )
        assert r.status_code == 403
        rows = await session.execute(select(IdempotencyKey).where(IdempotencyKey.key == "k-6"))
        assert rows.first() is None

    @pytest.mark.parametrize(
        "key", ["", "x" * 256, "has space", "tab\there", "caf\xe9".encode("latin-1")]
    )
    async def test_malformed_key_is_422(self, client, cast: Cast, key):
        headers = {**cast.alice.headers, "Idempotency-Key": key}
        r = await client.post(API, json={"title": "x"}, headers=headers)
        assert r.status_code == 422, r.text
        assert r.json()["type"] == "/problems/idempotency-key-invalid"

    async def test_max_length_key_is_fine(self, client, cast: Cast):
        r = await client.post(API, json={"title": "x"}, headers=keyed(cast.alice, "k" * 255))
        assert r.status_code == 201

    async def test_works_for_every_post(self, client, cast: Cast):
        t = (await client.post(API, json={"title": "x"}, headers=cast.alice.headers)).json()
        url = f"{API}/{t['id']}/conversations"
        first = await client.post(url, json={"message": "hello"}, headers=keyed(cast.alice, "m-1"))
        again = await client.post(url, json={"message": "hello"}, headers=keyed(cast.alice, "m-1"))
        assert first.status_code == again.status_code == 201
        assert first.json() == again.json()
        assert again.headers["idempotent-replayed"] == "true"
        listed = (await client.get(url, headers=cast.alice.headers)).json()["data"]
        assert len(listed) == 1

    async def test_oversized_streamed_body_is_413_not_500(self, client, cast: Cast, session):
        before = await ticket_count(session)

        async def chunks():  # no Content-Length: the limit trips while the body is read
            yield b'{"title": "big", "description": "'
            for _ in range(20):
                yield b"x" * 100_000
            yield b'"}'

        headers = {**keyed(cast.alice, "k-big"), "Content-Type": "application/json"}
        r = await client.post(API, content=chunks(), headers=headers)
        assert r.status_code == 413
        assert r.json()["type"] == "/problems/payload-too-large"
        assert await ticket_count(session) == before


class TestCompletionCommitsWithTheChange:
    """The stored response is written by the change's own commit, not by a later transaction."""

    @pytest.fixture
    def later_stores(self, monkeypatch) -> list[int]:
        from helpline.idempotency import service

        calls: list[int] = []
        original = service.finish

        async def spy(db, claim, status, headers, body):
            calls.append(status)
            await original(db, claim, status, headers, body)

        monkeypatch.setattr(service, "finish", spy)
        return calls

    async def test_every_kind_of_post_completes_in_its_transaction(
        self, client, cast: Cast, later_stores: list[int]
    ):
        t = (await client.post(API, json={"title": "x"}, headers=cast.alice.headers)).json()
        posts = [
            (API, {"title": "atomic"}, cast.alice),
            (f"{API}/{t['id']}/conversations", {"message": "atomic"}, cast.alice),
            ("/api/v1/users", {"email": "atomic@example.com", "name": "A", "role": "agent"}, cast.admin),
            ("/api/v1/api-keys", {"name": "atomic"}, cast.admin),
            ("/graphql", {"query": 'mutation { createTicket(input: {title: "atomic"}) { id } }'},
             cast.alice),
        ]  # fmt: skip
        for i, (url, body, actor) in enumerate(posts):
            first = await client.post(url, json=body, headers=keyed(actor, f"atomic-{i}"))
            assert first.status_code in (200, 201), (url, first.text)
            again = await client.post(url, json=body, headers=keyed(actor, f"atomic-{i}"))
            assert again.headers["idempotent-replayed"] == "true", url
            assert again.content == first.content
        assert later_stores == []

    async def test_a_request_that_commits_nothing_is_stored_afterwards(
        self, client, cast: Cast, later_stores: list[int]
    ):
        r = await client.post(API, json={"title": ""}, headers=keyed(cast.alice, "atomic-422"))
        assert r.status_code == 422
        again = await client.post(API, json={"title": ""}, headers=keyed(cast.alice, "atomic-422"))
        assert again.headers["idempotent-replayed"] == "true"
        assert later_stores == [422]

    async def test_a_claim_taken_over_meanwhile_rolls_the_change_back(
        self, client, cast: Cast, session, monkeypatch
    ):
        from helpline.idempotency import service

        stolen: list[bool] = []
        store = service.Pending.store_before_commit

        async def steal_then_store(pending, uow) -> None:  # another process takes it over then
            if not stolen:
                stolen.append(True)
                await uow.session.execute(
                    update(IdempotencyKey)
                    .where(IdempotencyKey.key == "atomic-stolen")
                    .values(created_at=func.clock_timestamp())
                )
            await store(pending, uow)

        before = await ticket_count(session)
        monkeypatch.setattr(service.Pending, "store_before_commit", steal_then_store)
        r = await client.post(
            API, json={"title": "stolen"}, headers=keyed(cast.alice, "atomic-stolen")
        )
        assert stolen == [True]
        assert r.status_code == 409
        assert r.json()["type"] == "/problems/idempotency-key-in-flight"
        assert await ticket_count(session) == before
