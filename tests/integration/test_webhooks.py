"""Webhooks: admin REST API, Standard Webhooks deliveries by the procrastinate worker to real
receivers on 127.0.0.1, retries with an injected clock, SSRF refusal, periodic tasks."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from procrastinate.periodic import PeriodicDeferrer
from sqlalchemy import func, select, text

from helpline.app import create_app
from helpline.auth.principal import SYSTEM_PRINCIPAL
from helpline.config import Settings
from helpline.db import Database
from helpline.jobs.tasks import SCHEDULE, requeue_stalled
from helpline.jobs.worker import make_app, worker_context
from helpline.models import Event, WebhookDelivery, WebhookEndpoint
from helpline.models.enums import Role
from helpline.webhook import service as webhook_service
from helpline.webhook.schemas import WebhookCreate
from tests.fixtures.actors import Cast
from tests.fixtures.clock import FakeClock
from tests.fixtures.factories import make_actor, make_user
from tests.fixtures.receiver import Receiver

pytestmark = pytest.mark.integration

HOOKS = "/api/v1/webhooks"


@pytest.fixture
def committed_url(make_database) -> str:
    """A database of its own where the test commits for real (the worker must see it)."""
    return make_database()


@pytest.fixture
def hook_settings(settings: Settings, committed_url: str) -> Settings:
    return settings.model_copy(
        update={"database_url": committed_url, "webhook_allowed_hosts": ["127.0.0.1"]}
    )


@pytest.fixture
async def receiver():
    r = await Receiver().start()
    yield r
    if r.hang is not None:
        r.hang.set()
    await r.stop()


async def add_endpoint(database: Database, receiver: Receiver, **extra) -> uuid.UUID:
    async with database.transaction() as s:
        row, secret = await webhook_service.create_endpoint(
            s,
            SYSTEM_PRINCIPAL,
            WebhookCreate(url=receiver.url, **extra),
            allowed_hosts=["127.0.0.1"],
        )
    receiver.secrets.append(secret)
    return row.id


async def make_changes(database: Database, tickets: int = 2, updates: int = 3) -> list[uuid.UUID]:
    async with database.transaction() as s:
        customer = await make_user(s)
    ids = []
    for t in range(tickets):
        tid = uuid.uuid4()
        ids.append(tid)
        async with database.transaction() as s:
            await s.execute(
                text(
                    "INSERT INTO tickets (id, title, description, customer_id)"
                    " VALUES (:id, :t, '', :c)"
                ),
                {"id": tid, "t": f"T{t}", "c": customer.id},
            )
    for u in range(updates):
        for tid in ids:
            async with database.transaction() as s:
                await s.execute(
                    text("UPDATE tickets SET title = :t WHERE id = :id"), {"t": f"v{u}", "id": tid}
                )
    return ids


async def events_by_ticket(database: Database) -> dict[str, list[str]]:
    async with database.transaction() as s:
        rows = (await s.execute(text("SELECT id, ticket_id FROM events ORDER BY xid, id"))).all()
    out: dict[str, list[str]] = defaultdict(list)
    for event_id, ticket_id in rows:
        out[str(ticket_id)].append(f"evt_{event_id}")
    return out


def received_by_ticket(receiver: Receiver) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for r in receiver.accepted:
        if r.msg_id not in out[r.payload["data"]["ticket_id"]]:
            out[r.payload["data"]["ticket_id"]].append(r.msg_id)
    return out


async def attempts(ctx, endpoint_id, ticket_id, receiver: Receiver, clock: FakeClock, n: int):
    """Run the delivery engine ``n`` times with attempts, moving the injected clock past any
    backoff (at most 1 h) after each. A run without an attempt waited for other transactions
    on the shared server to end (the events are not settled yet): poll, don't move time."""
    for _ in range(n):
        before = len(receiver.requests)
        for _poll in range(600):
            await ctx.deliverer.run(endpoint_id, ticket_id)
            if len(receiver.requests) > before:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("no delivery attempt within a minute")
        yield
        clock.advance(minutes=61)


async def drain(settings: Settings, url: str, until, rounds: int = 300) -> None:
    """Run the real worker until the queue is empty, again until ``until()`` holds (deliveries
    may wait for other transactions of the shared server to end)."""
    app = make_app(settings, database_url=url)
    async with worker_context(settings, database_url=url), app.open_async():
        for _ in range(rounds):
            await app.run_worker_async(
                queues=["webhooks"],
                wait=False,
                concurrency=4,
                install_signal_handlers=False,
                listen_notify=False,
            )
            if until():
                return
            await asyncio.sleep(0.2)
    raise AssertionError("deliveries did not complete")


class TestDeliveries:
    async def test_signed_deliveries_arrive_once_each_in_per_ticket_order(
        self, hook_settings: Settings, committed_url: str, receiver: Receiver
    ):
        async with worker_context(hook_settings, database_url=committed_url) as ctx:
            await add_endpoint(ctx.database, receiver)
            await make_changes(ctx.database, tickets=3, updates=3)
            expected = await events_by_ticket(ctx.database)
        total = sum(len(v) for v in expected.values())
        assert total == 12
        await drain(hook_settings, committed_url, lambda: len(receiver.accepted_ids()) >= total)
        assert receiver.bad_signatures == 0
        assert received_by_ticket(receiver) == expected
        first = receiver.accepted[0]
        assert first.headers["webhook-signature"].startswith("v1,")
        assert first.payload["type"] == "ticket.created"
        async with (
            worker_context(hook_settings, database_url=committed_url) as ctx,
            ctx.database.transaction() as s,
        ):
            statuses = set((await s.execute(select(WebhookDelivery.status))).scalars())
            latency = await s.scalar(select(func.max(WebhookDelivery.last_latency_ms)))
        assert statuses == {"succeeded"}
        assert latency is not None

    async def test_failing_receiver_gets_everything_after_retries(
        self, hook_settings: Settings, committed_url: str, receiver: Receiver
    ):
        receiver.fail_first = 3
        clock = FakeClock()
        async with worker_context(hook_settings, database_url=committed_url, clock=clock) as ctx:
            endpoint_id = await add_endpoint(ctx.database, receiver)
            [ticket] = await make_changes(ctx.database, tickets=1, updates=4)
            expected = await events_by_ticket(ctx.database)
            clock.now = datetime.now(UTC)  # the deliveries were queued at the database's now
            async for _ in attempts(ctx, endpoint_id, ticket, receiver, clock, 10):
                if len(receiver.accepted_ids()) == 5:
                    break
            async with ctx.database.transaction() as s:
                rows = list((await s.execute(select(WebhookDelivery))).scalars())
                endpoint = await s.get(WebhookEndpoint, endpoint_id)
        assert received_by_ticket(receiver) == expected
        assert len(receiver.requests) == 5 + 3  # three refusals, then each once
        assert [r.msg_id for r in receiver.requests[:4]] == [expected[str(ticket)][0]] * 4
        assert {r.status for r in rows} == {"succeeded"}
        assert max(r.attempts for r in rows) == 4
        assert endpoint is not None
        assert endpoint.consecutive_failures == 0

    async def test_endpoint_failing_for_a_day_is_disabled_with_the_reason(
        self, hook_settings: Settings, committed_url: str, receiver: Receiver
    ):
        receiver.always_fail = True
        clock = FakeClock()
        async with worker_context(hook_settings, database_url=committed_url, clock=clock) as ctx:
            endpoint_id = await add_endpoint(ctx.database, receiver)
            [ticket] = await make_changes(ctx.database, tickets=1, updates=0)
            clock.now = datetime.now(UTC)  # the delivery was queued at the database's now
            async for _ in attempts(ctx, endpoint_id, ticket, receiver, clock, 40):
                async with ctx.database.transaction() as s:
                    endpoint = await s.get(WebhookEndpoint, endpoint_id)
                assert endpoint is not None
                if not endpoint.enabled:
                    break
        assert not endpoint.enabled
        assert "disabled automatically" in (endpoint.disabled_reason or "")
        assert "HTTP 500" in (endpoint.disabled_reason or "")

    async def test_delivery_connects_to_the_checked_address_without_a_second_lookup(
        self, hook_settings: Settings, committed_url: str, receiver: Receiver, monkeypatch
    ):
        from helpline.webhook import targets

        lookups: list[str] = []

        async def resolve(host: str, port: int) -> list[str]:
            lookups.append(host)
            if host != "hooks.example.test":
                raise OSError("unknown host")
            return ["127.0.0.1"]

        monkeypatch.setattr(targets, "system_resolve", resolve)
        url = f"http://hooks.example.test:{receiver.port}/hook"
        async with worker_context(hook_settings, database_url=committed_url) as ctx:
            async with ctx.database.transaction() as s:
                _row, secret = await webhook_service.create_endpoint(
                    s, SYSTEM_PRINCIPAL, WebhookCreate(url=url), allowed_hosts=["127.0.0.1"]
                )
            receiver.secrets.append(secret)
            await make_changes(ctx.database, tickets=1, updates=0)
        await drain(hook_settings, committed_url, lambda: len(receiver.accepted_ids()) >= 1)
        [first, *_] = receiver.accepted
        assert first.headers["host"] == f"hooks.example.test:{receiver.port}"
        assert first.payload["type"] == "ticket.created"
        # once when saved, once before the delivery — and never by the HTTP client
        assert lookups == ["hooks.example.test", "hooks.example.test"]

    async def test_a_name_that_now_resolves_to_a_private_address_is_not_called(
        self, hook_settings: Settings, committed_url: str, receiver: Receiver, monkeypatch
    ):
        from helpline.webhook import targets

        answers = {"hooks.example.test": ["127.0.0.1"]}

        async def resolve(host: str, port: int) -> list[str]:
            return answers[host]

        monkeypatch.setattr(targets, "system_resolve", resolve)
        url = f"http://hooks.example.test:{receiver.port}/hook"
        clock = FakeClock()
        async with worker_context(hook_settings, database_url=committed_url, clock=clock) as ctx:
            async with ctx.database.transaction() as s:
                row, _secret = await webhook_service.create_endpoint(
                    s, SYSTEM_PRINCIPAL, WebhookCreate(url=url), allowed_hosts=["127.0.0.1"]
                )
            [ticket] = await make_changes(ctx.database, tickets=1, updates=0)
            answers["hooks.example.test"] = ["100.100.100.200"]  # rebound to a metadata service
            clock.now = datetime.now(UTC)
            for _poll in range(600):  # until the event settled and an attempt was recorded
                await ctx.deliverer.run(row.id, ticket)
                async with ctx.database.transaction() as s:
                    delivery = await s.scalar(select(WebhookDelivery))
                if delivery is not None and delivery.attempts:
                    break
                await asyncio.sleep(0.1)
        assert receiver.requests == []
        assert delivery is not None
        assert delivery.status == "pending"
        assert "WebhookTargetRefused" in (delivery.last_error or "")
        assert "metadata" in (delivery.last_error or "")

    async def test_rolled_back_change_produces_no_event_delivery_or_job(
        self, hook_settings: Settings, committed_url: str, receiver: Receiver
    ):
        async with worker_context(hook_settings, database_url=committed_url) as ctx:
            await add_endpoint(ctx.database, receiver)
            async with ctx.database.transaction() as s:
                customer = await make_user(s)

            async def doomed() -> None:
                async with ctx.database.transaction() as s:
                    await s.execute(
                        text(
                            "INSERT INTO tickets (id, title, description, customer_id)"
                            " VALUES (gen_random_uuid(), 'Doomed', '', :c)"
                        ),
                        {"c": customer.id},
                    )
                    pending = await s.scalar(select(func.count()).select_from(WebhookDelivery))
                    assert pending == 1  # written in the transaction ...
                    raise RuntimeError("abort")

            with pytest.raises(RuntimeError):
                await doomed()
            async with ctx.database.transaction() as s:  # ... and gone with it
                assert await s.scalar(select(func.count()).select_from(Event)) == 0
                assert await s.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
                jobs = await s.scalar(text("SELECT count(*) FROM procrastinate_jobs"))
        assert jobs == 0

    async def test_killed_worker_loses_nothing(
        self, hook_settings: Settings, committed_url: str, receiver: Receiver
    ):
        """A real `helpline worker` process is SIGKILLed while the receiver holds its first
        request; once its heartbeat is stale, the stalled-job task requeues the job and the next
        worker delivers everything (the interrupted event again, with the same webhook-id)."""
        receiver.hang = asyncio.Event()
        async with worker_context(hook_settings, database_url=committed_url) as ctx:
            await add_endpoint(ctx.database, receiver)
            await make_changes(ctx.database, tickets=1, updates=2)
            expected = await events_by_ticket(ctx.database)
        env = {
            **os.environ,
            "HELPLINE_ENV": "test",
            "HELPLINE_DATABASE_URL": committed_url,
            "HELPLINE_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "HELPLINE_LOG_LEVEL": "WARNING",
        }
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "helpline"),
            "worker",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            await asyncio.wait_for(receiver.got_request.wait(), timeout=60)
        finally:
            process.kill()
            await process.wait()
        receiver.hang.set()
        app = make_app(hook_settings, database_url=committed_url)
        async with worker_context(hook_settings, database_url=committed_url) as ctx:
            async with ctx.database.transaction() as s:
                doing = await s.scalar(
                    text(
                        "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'"
                        " AND task_name = 'helpline:deliver_webhooks'"
                    )
                )
                # Time passes for the dead worker's heartbeat (the database's clock).
                await s.execute(
                    text("UPDATE procrastinate_workers SET last_heartbeat = now() - '1h'::interval")
                )
            async with app.open_async():
                requeued = await requeue_stalled(app)
        assert doing == 1  # (periodic jobs due at start-up may have been running too)
        assert requeued >= 1
        await drain(
            hook_settings,
            committed_url,
            lambda: len(receiver.accepted_ids()) >= sum(len(v) for v in expected.values()),
        )
        assert received_by_ticket(receiver) == expected
        first = expected[next(iter(expected))][0]
        assert [r.msg_id for r in receiver.requests].count(first) == 2  # at least once


class TestPeriodic:
    def test_schedule_due_at_injected_times(self, hook_settings: Settings):
        app = make_app(hook_settings)
        deferrer = PeriodicDeferrer(registry=app.periodic_registry, max_delay=600)
        at = datetime(2030, 1, 1, 3, 30, 5, tzinfo=UTC).timestamp()
        due = {task.task.name for task, _ in deferrer.get_previous_tasks(at=at)}
        assert due == {
            "helpline:events_purge",
            "helpline:idempotency_purge",
            "helpline:retry_stalled_jobs",
            "helpline:sla_tick",
            "helpline:reports_tick",
        }
        later = at + 50 * 60  # 04:20:05: no purge, but the hourly gc and per-minute ones
        due = {task.task.name for task, _ in deferrer.get_previous_tasks(at=later)}
        assert "helpline:events_purge" not in due
        assert {"helpline:attachments_gc", "helpline:retry_stalled_jobs"} <= due
        periodic = {t.task.name for t in app.periodic_registry.periodic_tasks.values()}
        assert periodic == {f"helpline:{name}" for name in SCHEDULE}

    async def test_periodic_purge_runs_with_its_scheduled_time(
        self, hook_settings: Settings, committed_url: str
    ):
        async with worker_context(hook_settings, database_url=committed_url) as ctx:
            await make_changes(ctx.database, tickets=2, updates=0)
        app = make_app(hook_settings, database_url=committed_url)
        deferrer = PeriodicDeferrer(registry=app.periodic_registry, max_delay=600)
        future = datetime.now(UTC) + timedelta(days=hook_settings.events_retention_days + 1)
        at = future.replace(hour=3, minute=30, second=1).timestamp()
        async with (
            worker_context(hook_settings, database_url=committed_url) as ctx,
            app.open_async(),
        ):
            due = [
                (t, ts)
                for t, ts in deferrer.get_previous_tasks(at=at)
                if t.task.name == "helpline:events_purge"
            ]
            await deferrer.defer_jobs(due)
            await app.run_worker_async(
                queues=["maintenance"],
                wait=False,
                install_signal_handlers=False,
                listen_notify=False,
            )
            async with ctx.database.transaction() as s:
                left = await s.scalar(select(func.count()).select_from(Event))
                status = await s.scalar(
                    text(
                        "SELECT status::text FROM procrastinate_jobs"
                        " WHERE task_name = 'helpline:events_purge'"
                    )
                )
        assert status == "succeeded"
        assert left == 0


@pytest.fixture
async def hook_client(settings: Settings, db, redis, clock):
    allowed = settings.model_copy(update={"webhook_allowed_hosts": ["127.0.0.1"]})
    application = create_app(allowed, background=False, database=db, redis=redis, clock=clock)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://helpline.test") as c:
            yield c


class TestWebhookApi:
    async def test_crud_secret_shown_once(self, hook_client, cast: Cast, session):
        r = await hook_client.post(
            HOOKS,
            json={"url": "http://127.0.0.1:9/hook", "event_types": ["ticket.created"]},
            headers=cast.admin.headers,
        )
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["secret"].startswith("whsec_")
        assert created["event_types"] == ["ticket.created"]
        got = await hook_client.get(f"{HOOKS}/{created['id']}", headers=cast.admin.headers)
        assert got.status_code == 200
        assert "secret" not in got.json()
        listed = await hook_client.get(HOOKS, headers=cast.admin.headers)
        assert [w["id"] for w in listed.json()] == [created["id"]]
        off = await hook_client.patch(
            f"{HOOKS}/{created['id']}", json={"enabled": False}, headers=cast.admin.headers
        )
        assert off.json()["enabled"] is False
        assert off.json()["disabled_reason"] == "disabled by an admin"
        row = await session.get(WebhookEndpoint, uuid.UUID(created["id"]))
        assert row is not None
        assert row.enabled is False
        gone = await hook_client.delete(f"{HOOKS}/{created['id']}", headers=cast.admin.headers)
        assert gone.status_code == 204
        assert (
            await session.get(WebhookEndpoint, uuid.UUID(created["id"]), populate_existing=True)
            is None
        )

    async def test_endpoint_changes_are_audited_without_secrets(
        self, hook_client, cast: Cast, session
    ):
        from helpline.models import AuditLog

        async def rows(entity_id: str) -> list[AuditLog]:
            stmt = (
                select(AuditLog)
                .where(AuditLog.entity_type == "webhook", AuditLog.entity_id == entity_id)
                .order_by(AuditLog.id)
            )
            return list((await session.execute(stmt)).scalars())

        headers = {**cast.admin.headers, "X-Request-ID": "req-webhook-audit-1"}
        r = await hook_client.post(
            HOOKS, json={"url": "http://127.0.0.1:9/a", "description": "crm"}, headers=headers
        )
        created = r.json()
        hook_id = created["id"]
        await hook_client.patch(
            f"{HOOKS}/{hook_id}", json={"url": "http://127.0.0.1:9/b"}, headers=cast.admin.headers
        )
        rotated = await hook_client.post(
            f"{HOOKS}/{hook_id}/rotate", json={}, headers=cast.admin.headers
        )
        await hook_client.patch(
            f"{HOOKS}/{hook_id}", json={"enabled": False}, headers=cast.admin.headers
        )
        await hook_client.patch(
            f"{HOOKS}/{hook_id}", json={"enabled": True}, headers=cast.admin.headers
        )
        await hook_client.delete(f"{HOOKS}/{hook_id}", headers=cast.admin.headers)
        audit = await rows(hook_id)
        assert [a.action for a in audit] == [
            "webhook.created",
            "webhook.updated",
            "webhook.secret_rotated",
            "webhook.disabled",
            "webhook.enabled",
            "webhook.deleted",
        ]
        assert {a.actor_type for a in audit} == {"api_key"}
        assert {a.actor_id for a in audit} == {cast.admin.id}
        assert audit[0].request_id == "req-webhook-audit-1"
        assert audit[0].changes["url"] == "http://127.0.0.1:9/a"
        assert audit[1].changes == {"url": ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"]}
        assert audit[2].changes["secret"] == "[changed]"
        assert audit[3].changes["enabled"] == [True, False]
        logged = " ".join(str(a.changes) for a in audit)
        for secret in (created["secret"], rotated.json()["secret"]):
            assert secret not in logged

    async def test_agents_and_customers_are_refused(self, hook_client, cast: Cast):
        for actor in (cast.agent, cast.alice):
            r = await hook_client.get(HOOKS, headers=actor.headers)
            assert r.status_code == 403
            assert r.json()["type"] == "/problems/permission-denied"
            r = await hook_client.post(
                HOOKS, json={"url": "http://127.0.0.1:9/"}, headers=actor.headers
            )
            assert r.status_code == 403

    async def test_admin_key_without_the_scope_is_refused(self, hook_client, session):
        narrow = await make_actor(session, Role.admin, scopes=["tickets:read"])
        r = await hook_client.get(HOOKS, headers=narrow.headers)
        assert r.status_code == 403
        assert "webhooks:write" in r.json()["detail"]

    @pytest.mark.parametrize(
        "url",
        [
            "http://10.0.0.5/hook",
            "http://192.168.1.1/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:8080/hook",
            "http://0.0.0.0:8080/hook",
            "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud metadata
            "http://100.64.0.1/hook",  # RFC 6598 shared address space
            "http://100.127.255.254/hook",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://metadata.google.internal./computeMetadata/v1/",
            "http://[fd00:ec2::254]/latest/meta-data/",
            "http://[::ffff:100.64.0.1]/hook",  # IPv4-mapped
            "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64 of 169.254.169.254
            "http://192.0.0.8/hook",  # IETF protocol assignments
            "http://198.18.0.1/hook",  # benchmarking
        ],
    )
    async def test_private_targets_are_refused(self, hook_client, cast: Cast, session, url):
        before = await session.scalar(select(func.count()).select_from(WebhookEndpoint))
        r = await hook_client.post(HOOKS, json={"url": url}, headers=cast.admin.headers)
        assert r.status_code == 422, r.text
        assert r.json()["type"] == "/problems/webhook-target-refused"
        assert await session.scalar(select(func.count()).select_from(WebhookEndpoint)) == before

    async def test_loopback_refused_without_the_setting(self, client, cast: Cast):
        r = await client.post(
            HOOKS, json={"url": "http://127.0.0.1:9/hook"}, headers=cast.admin.headers
        )
        assert r.status_code == 422
        assert r.json()["type"] == "/problems/webhook-target-refused"

    async def test_rotation_signs_with_both_secrets_during_the_overlap(
        self, hook_settings: Settings, committed_url: str, receiver: Receiver
    ):
        async with worker_context(hook_settings, database_url=committed_url) as ctx:
            endpoint_id = await add_endpoint(ctx.database, receiver)
            old = receiver.secrets[0]
            async with ctx.database.transaction() as s:
                _, new = await webhook_service.rotate_secret(
                    s,
                    SYSTEM_PRINCIPAL,
                    endpoint_id,
                    now=datetime.now(UTC),
                    overlap=timedelta(hours=1),
                )
            await make_changes(ctx.database, tickets=1, updates=0)
        receiver.secrets[:] = [old]  # a receiver that still has only the old secret ...
        await drain(hook_settings, committed_url, lambda: len(receiver.accepted) >= 1)
        signature = receiver.accepted[0].headers["webhook-signature"]
        assert len(signature.split(" ")) == 2
        receiver.secrets[:] = [new]  # ... and one that has switched both verify
        import json as _json

        from standardwebhooks.webhooks import Webhook

        body = _json.dumps(receiver.accepted[0].payload, separators=(",", ":")).encode()
        Webhook(new).verify(body, receiver.accepted[0].headers)


def cli_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "HELPLINE_ENV": "test",
        "HELPLINE_DATABASE_URL": url,
        "HELPLINE_LOG_LEVEL": "WARNING",
    }


async def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "helpline"),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return subprocess.CompletedProcess(args, process.returncode, out.decode(), err.decode())


class TestWorkerProcess:
    async def test_sigterm_stops_the_worker_gracefully(self, committed_url: str, hook_settings):
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "helpline"),
            "worker",
            env=cli_env(committed_url),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with worker_context(hook_settings, database_url=committed_url) as ctx:
                for _ in range(300):  # until the worker has registered itself
                    async with ctx.database.transaction() as s:
                        workers = await s.scalar(text("SELECT count(*) FROM procrastinate_workers"))
                    if workers:
                        break
                    await asyncio.sleep(0.1)
                assert workers == 1
                process.send_signal(signal.SIGTERM)
                code = await asyncio.wait_for(process.wait(), timeout=60)
                async with ctx.database.transaction() as s:
                    left = await s.scalar(text("SELECT count(*) FROM procrastinate_workers"))
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert code == 0
        assert left == 0  # unregistered on the way out

    async def test_jobs_list_failed_and_retry(self, committed_url: str, hook_settings):
        app = make_app(hook_settings, database_url=committed_url)
        async with app.open_async():
            job_id = await app.tasks["helpline:events_purge"].defer_async(timestamp=0)
        async with (
            worker_context(hook_settings, database_url=committed_url) as ctx,
            ctx.database.transaction() as s,
        ):
            await s.execute(
                text("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = :id"),
                {"id": job_id},
            )
            await s.execute(
                text("UPDATE procrastinate_jobs SET status = 'failed' WHERE id = :id"),
                {"id": job_id},
            )
        env = cli_env(committed_url)
        listed = await cli(env, "jobs", "list", "--failed")
        assert listed.returncode == 0, listed.stderr
        assert f"{job_id}\tfailed\thelpline:events_purge" in listed.stdout
        retried = await cli(env, "jobs", "retry", str(job_id))
        assert retried.returncode == 0, retried.stderr
        assert f"job {job_id} queued again" in retried.stdout
        again = await cli(env, "jobs", "retry", str(job_id))
        assert again.returncode == 1
        assert again.stderr.startswith("error: job")
        async with (
            worker_context(hook_settings, database_url=committed_url) as ctx,
            ctx.database.transaction() as s,
        ):
            status = await s.scalar(
                text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"),
                {"id": job_id},
            )
        assert status == "todo"
        failed = await cli(env, "jobs", "list", "--failed")
        assert "no jobs" in failed.stdout


class TestWebhooksCli:
    async def test_create_list_rotate_disable(self, committed_url: str):
        env = {**cli_env(committed_url), "HELPLINE_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}
        created = await cli(env, "webhooks", "create", "http://127.0.0.1:9/hook")
        assert created.returncode == 0, created.stderr
        secret = created.stdout.strip()
        assert secret.startswith("whsec_")
        assert created.stdout == secret + "\n"  # the secret alone on stdout
        endpoint_id = created.stderr.split("created webhook ")[1].split()[0]
        listed = await cli(env, "webhooks", "list")
        assert endpoint_id in listed.stdout
        assert secret not in listed.stdout
        rotated = await cli(env, "webhooks", "rotate", endpoint_id, "--overlap-hours", "2")
        assert rotated.returncode == 0, rotated.stderr
        assert rotated.stdout.strip().startswith("whsec_")
        assert rotated.stdout.strip() != secret
        disabled = await cli(env, "webhooks", "disable", endpoint_id)
        assert disabled.stdout.strip() == f"webhook {endpoint_id} disabled"
        listed = await cli(env, "webhooks", "list")
        assert "disabled by an admin" in listed.stdout

    async def test_private_target_is_refused_in_one_line(self, committed_url: str):
        refused = await cli(cli_env(committed_url), "webhooks", "create", "http://10.0.0.1/x")
        assert refused.returncode == 1
        assert refused.stderr.startswith("error: ")
        assert len(refused.stderr.strip().splitlines()) == 1
        assert "non-public address" in refused.stderr


class TestMetrics:
    async def test_queue_and_delivery_gauges(self, hook_client, cast: Cast, session):
        r = await hook_client.post(
            HOOKS, json={"url": "http://127.0.0.1:9/hook"}, headers=cast.admin.headers
        )
        wid = r.json()["id"]
        await hook_client.post(
            "/api/v1/tickets",
            json={"title": "T", "description": "", "customer_id": str(cast.alice.id)},
            headers=cast.agent.headers,
        )
        await hook_client.patch(
            f"{HOOKS}/{wid}", json={"enabled": False}, headers=cast.admin.headers
        )
        text_ = (await hook_client.get("/metrics", headers=cast.admin.headers)).text
        assert 'helpline_webhook_deliveries{status="pending"} 1' in text_
        assert "helpline_webhook_endpoints_disabled 1" in text_
        assert 'helpline_jobs{queue="webhooks",status="todo"} 1' in text_


class TestDeliveryLogApi:
    async def test_log_lists_deliveries_and_redeliver_queues_again(
        self, hook_client, cast: Cast, session
    ):
        r = await hook_client.post(
            HOOKS, json={"url": "http://127.0.0.1:9/hook"}, headers=cast.admin.headers
        )
        wid = r.json()["id"]
        ticket = await hook_client.post(
            "/api/v1/tickets",
            json={"title": "T", "description": "", "customer_id": str(cast.alice.id)},
            headers=cast.agent.headers,
        )
        log = await hook_client.get(f"{HOOKS}/{wid}/deliveries", headers=cast.admin.headers)
        assert log.status_code == 200
        [delivery] = log.json()
        assert delivery["event_type"] == "ticket.created"
        assert delivery["ticket_id"] == ticket.json()["id"]
        assert delivery["status"] == "pending"
        jobs_before = await session.scalar(text("SELECT count(*) FROM procrastinate_jobs"))
        again = await hook_client.post(
            f"{HOOKS}/{wid}/deliveries/{delivery['id']}/redeliver", headers=cast.admin.headers
        )
        assert again.status_code == 202
        assert await session.scalar(text("SELECT count(*) FROM procrastinate_jobs")) == (
            jobs_before + 1
        )
        missing = await hook_client.post(
            f"{HOOKS}/{wid}/deliveries/999999/redeliver", headers=cast.admin.headers
        )
        assert missing.status_code == 404
        assert missing.json()["type"] == "/problems/webhook-not-found"
        other = await hook_client.get(f"{HOOKS}/{uuid.uuid4()}", headers=cast.admin.headers)
        assert other.status_code == 404
