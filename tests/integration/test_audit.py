"""Audit log: trigger-written data changes, buffered application events, GET /audit-events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from helpline.audit.schemas import AuditEvent
from helpline.audit.service import AuditService
from helpline.models import ApiKey, AuditLog, User
from helpline.models.enums import Role
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_api_key, make_audit_event

pytestmark = pytest.mark.integration

API = "/api/v1"


def rid() -> str:
    return f"req-{uuid.uuid4().hex[:12]}"


async def audit_rows(session, **where) -> list[AuditLog]:
    stmt = select(AuditLog).filter_by(**where).order_by(AuditLog.id)
    return list((await session.execute(stmt)).scalars())


async def key_id(session, user_id) -> uuid.UUID:
    return (await session.execute(select(ApiKey.id).where(ApiKey.user_id == user_id))).scalar_one()


class TestTriggerEvents:
    async def test_ticket_changes_carry_actor_key_request_and_ip(self, client, cast: Cast, session):
        create_rid, patch_rid, delete_rid = rid(), rid(), rid()
        r = await client.post(
            f"{API}/tickets",
            json={"title": "T", "customer_id": str(cast.alice.id)},
            headers={**cast.agent.headers, "X-Request-ID": create_rid},
        )
        tid = r.json()["id"]
        r = await client.patch(
            f"{API}/tickets/{tid}",
            json={"status": "open", "title": "T2"},
            headers={**cast.agent.headers, "X-Request-ID": patch_rid},
        )
        assert r.status_code == 200
        r = await client.delete(
            f"{API}/tickets/{tid}", headers={**cast.admin.headers, "X-Request-ID": delete_rid}
        )
        assert r.status_code == 204
        rows = await audit_rows(session, entity_type="ticket", entity_id=tid)
        assert [(r.action, r.request_id) for r in rows] == [
            ("ticket.created", create_rid),
            ("ticket.updated", patch_rid),
            ("ticket.deleted", delete_rid),
        ]
        agent_key = await key_id(session, cast.agent.id)
        for row in rows[:2]:
            assert (row.actor_type, row.actor_id, row.api_key_id) == (
                "api_key",
                cast.agent.id,
                agent_key,
            )
            assert str(row.ip) == "127.0.0.1"
            assert row.outcome == "success"
        assert rows[2].actor_id == cast.admin.id
        assert rows[0].changes["title"] == "T"
        assert "search_vector" not in rows[0].changes
        assert rows[1].changes == {"status": ["new", "open"], "title": ["T", "T2"], "version": 2}
        assert set(rows[2].changes) == {"deleted_at", "version"}

    async def test_metadata_and_message_events(self, client, cast: Cast, session):
        r = await client.post(
            f"{API}/tickets",
            json={"title": "T", "customer_id": str(cast.alice.id)},
            headers=cast.agent.headers,
        )
        tid = r.json()["id"]
        await client.put(
            f"{API}/tickets/{tid}/metadata/env", json={"value": "prod"}, headers=cast.agent.headers
        )
        await client.delete(f"{API}/tickets/{tid}/metadata/env", headers=cast.agent.headers)
        await client.post(
            f"{API}/tickets/{tid}/conversations",
            json={"message": "Hi there"},
            headers=cast.alice.headers,
        )
        rows = await audit_rows(session, entity_type="ticket", entity_id=tid)
        assert [r.action for r in rows] == [
            "ticket.created",
            "ticket.metadata_set",
            "ticket.metadata_removed",
            "ticket.message_added",
        ]
        assert rows[1].changes == {"key": "env", "value": "prod", "old_value": None}
        assert rows[3].actor_id == cast.alice.id
        assert rows[3].changes["length"] == 8
        assert "message" not in rows[3].changes

    async def test_secrets_never_reach_the_log(self, cast: Cast, session):
        user = (await session.execute(select(User).where(User.id == cast.alice.id))).scalar_one()
        await session.execute(
            update(User).where(User.id == user.id).values(password_hash="$argon2id$secret")
        )
        await session.execute(
            update(ApiKey).where(ApiKey.user_id == user.id).values(last_used_at=datetime.now(UTC))
        )
        await session.execute(
            update(ApiKey).where(ApiKey.user_id == user.id).values(revoked_at=datetime.now(UTC))
        )
        dump = (
            await session.execute(
                text(
                    "SELECT string_agg(changes::text, ' ') FROM audit_log"
                    " WHERE entity_type IN ('user', 'api_key')"
                )
            )
        ).scalar()
        assert "argon2" not in dump
        assert "\\x" not in dump
        user_rows = await audit_rows(session, entity_type="user", entity_id=str(user.id))
        assert [r.action for r in user_rows] == ["user.created", "user.password_changed"]
        assert user_rows[0].changes["has_password"] is False
        # a change without actor context (this session) also names the database role
        db_user = (await session.execute(text("SELECT session_user"))).scalar()
        assert user_rows[1].changes == {"password_hash": "[changed]", "db_user": db_user}
        assert user_rows[1].actor_type == "system"
        key_rows = await audit_rows(session, entity_type="api_key")
        mine = [
            r
            for r in key_rows
            if r.changes.get("user_id") == str(user.id) or r.action == "api_key.revoked"
        ]
        # created, then revoked; the last_used_at update alone wrote nothing
        assert [r.action for r in mine][-2:] == ["api_key.created", "api_key.revoked"]
        assert all("key_hash" not in r.changes for r in key_rows)

    async def test_rolled_back_change_writes_no_audit_row(self, client, cast: Cast, session):
        before = len(await audit_rows(session))
        r = await client.patch(
            f"{API}/tickets/{uuid.uuid4()}", json={"status": "open"}, headers=cast.agent.headers
        )
        assert r.status_code == 404
        r = await client.post(
            f"{API}/tickets",
            json={"title": "T", "customer_id": str(cast.alice.id)},
            headers=cast.agent.headers,
        )
        tid = r.json()["id"]
        after_create = len(await audit_rows(session))
        r = await client.patch(
            f"{API}/tickets/{tid}",
            json={"status": "open", "assigned_to": str(cast.bob.id)},
            headers=cast.agent.headers,
        )
        assert r.status_code == 422
        assert after_create == before + 1
        assert len(await audit_rows(session)) == after_create


class TestApplicationEvents:
    async def test_bad_key_and_denial_are_recorded_after_flush(
        self, app, client, cast: Cast, session
    ):
        r = await client.get(
            f"{API}/tickets",
            headers={"Authorization": "Bearer hl_nope", "X-Request-ID": "bad-key-1"},
        )
        assert r.status_code == 401
        denied_rid = rid()
        r = await client.get(
            f"{API}/audit-events", headers={**cast.agent.headers, "X-Request-ID": denied_rid}
        )
        assert r.status_code == 403
        await app.state.services.audit.flush()
        failed = await audit_rows(session, action="auth.failed", request_id="bad-key-1")
        assert len(failed) == 1
        assert failed[0].actor_type == "anonymous"
        assert failed[0].outcome == "failure"
        assert failed[0].changes["reason"] == "The API key is malformed."
        assert "hl_nope" not in str(failed[0].changes)
        denied = await audit_rows(session, action="permission.denied", request_id=denied_rid)
        assert len(denied) == 1
        assert (denied[0].actor_id, denied[0].api_key_id, denied[0].outcome) == (
            cast.agent.id,
            await key_id(session, cast.agent.id),
            "denied",
        )

    async def test_revoked_key_reason(self, app, client, cast: Cast, session):
        await session.execute(
            update(ApiKey).where(ApiKey.user_id == cast.bob.id).values(revoked_at=datetime.now(UTC))
        )
        await session.commit()
        r = await client.get(f"{API}/tickets", headers={**cast.bob.headers, "X-Request-ID": "rv1"})
        assert r.status_code == 401
        await app.state.services.audit.flush()
        (row,) = await audit_rows(session, action="auth.failed", request_id="rv1")
        assert row.changes["reason"] == "The API key has been revoked."

    async def test_repeated_failures_aggregate_into_one_row(self, app, client, session):
        for i in range(30):
            await client.get(f"{API}/tickets", headers={"X-Request-ID": f"flood-{i}"})
        await app.state.services.audit.flush()
        rows = [
            r
            for r in await audit_rows(session, action="auth.failed")
            if r.request_id and r.request_id.startswith("flood-")
        ]
        assert len(rows) == 1
        assert rows[0].changes["occurrences"] == 30
        assert rows[0].changes["last_request_id"] == "flood-29"

    async def test_rate_limit_refusals_are_recorded_aggregated(
        self, app, client, session, cast: Cast, settings
    ):
        key = await make_api_key(session, cast.agent.id, Role.agent, rate_limit_per_minute=2)
        await session.commit()
        statuses = [
            (await client.get(f"{API}/tickets", headers={"Authorization": f"Bearer {key}"}))
            for _ in range(12)
        ]
        assert [r.status_code for r in statuses].count(429) == 10
        app.state.services.settings = settings.model_copy(
            update={"anonymous_rate_limit_per_minute": 1}
        )
        anonymous = [(await client.get("/openapi.json")).status_code for _ in range(4)]
        assert anonymous == [200, 429, 429, 429]
        await app.state.services.audit.flush()
        rows = await audit_rows(session, action="rate_limit.exceeded")
        by_policy = {r.changes["policy"]: r for r in rows}
        assert by_policy["api-key"].changes["occurrences"] == 10
        assert by_policy["api-key"].changes["limit"] == 2
        assert by_policy["api-key"].actor_id == cast.agent.id
        assert by_policy["anonymous"].changes["occurrences"] == 3
        assert by_policy["anonymous"].actor_type == "anonymous"
        assert len(rows) == 2  # 13 refusals, two rows

    async def test_full_buffer_drops_and_counts(self, db, session, clock):
        audit = AuditService(db, clock=clock, capacity=10, batch_size=100)
        accepted = [
            audit.emit(
                AuditEvent(
                    action="auth.failed",
                    outcome="failure",
                    actor_type="anonymous",
                    occurred_at=clock(),
                    changes={"n": i},
                )
            )
            for i in range(15)
        ]
        assert accepted == [True] * 10 + [False] * 5
        assert audit.stats.dropped == 5
        await audit.flush()
        (dropped,) = await audit_rows(session, action="audit.events_dropped")
        assert dropped.changes == {"count": 5, "capacity": 10}
        assert len(audit) == 0
        assert audit.stats.written == 11

    async def test_service_start_and_stop_events(self, settings, db, redis, clock, session):
        from helpline.app import create_app

        application = create_app(settings, background=False, database=db, redis=redis, clock=clock)
        async with application.router.lifespan_context(application):
            pass
        actions = [r.action for r in await audit_rows(session, actor_type="system")]
        assert actions[-2:] == ["system.started", "system.stopped"]


class TestAuditEventsEndpoint:
    async def test_filters_and_keyset_pagination(self, client, cast: Cast, session):
        base = datetime(2026, 11, 1, tzinfo=UTC)
        entity = str(uuid.uuid4())
        for i in range(5):
            await make_audit_event(
                session,
                action="test.event",
                entity_type="widget",
                entity_id=entity,
                occurred_at=base + timedelta(minutes=i),
                request_id=f"evt-{i}",
                actor_type="user",
                actor_id=cast.agent.id,
            )
        await make_audit_event(
            session, action="test.other", entity_type="widget", entity_id=entity, occurred_at=base
        )
        await session.commit()
        seen, cursor = [], None
        while True:
            params = {
                "entity_type": "widget",
                "entity_id": entity,
                "action": "test.event",
                "limit": 2,
                **({"cursor": cursor} if cursor else {}),
            }
            r = await client.get(f"{API}/audit-events", params=params, headers=cast.admin.headers)
            assert r.status_code == 200, r.text
            seen += r.json()["data"]
            cursor = r.json()["meta"]["next_cursor"]
            if not cursor:
                break
        assert [e["request_id"] for e in seen] == [f"evt-{i}" for i in (4, 3, 2, 1, 0)]
        r = await client.get(
            f"{API}/audit-events",
            headers=cast.admin.headers,
            params={
                "actor_id": str(cast.agent.id),
                "entity_id": entity,
                "occurred_after": (base + timedelta(minutes=1)).isoformat(),
                "occurred_before": (base + timedelta(minutes=3)).isoformat(),
            },
        )
        assert [e["request_id"] for e in r.json()["data"]] == ["evt-2", "evt-1"]
        r = await client.get(
            f"{API}/audit-events", headers=cast.admin.headers, params={"request_id": "evt-3"}
        )
        (event,) = r.json()["data"]
        assert event["action"] == "test.event"
        assert event["actor_type"] == "user"

    async def test_request_id_links_api_change_to_events(self, client, cast: Cast):
        request_id = rid()
        r = await client.post(
            f"{API}/tickets",
            json={"title": "T", "customer_id": str(cast.alice.id)},
            headers={**cast.agent.headers, "X-Request-ID": request_id},
        )
        r = await client.get(
            f"{API}/audit-events", params={"request_id": request_id}, headers=cast.admin.headers
        )
        (event,) = r.json()["data"]
        assert event["action"] == "ticket.created"
        assert event["ip"] == "127.0.0.1"
        assert event["actor_id"] == str(cast.agent.id)

    async def test_only_audit_read_may_list(self, client, cast: Cast):
        for actor in (cast.agent, cast.alice):
            r = await client.get(f"{API}/audit-events", headers=actor.headers)
            assert r.status_code == 403
            assert r.json()["type"] == "/problems/permission-denied"
        assert (await client.get(f"{API}/audit-events")).status_code == 401
