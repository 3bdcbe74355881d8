"""The email channel end to end: ingest (HTTP, IMAP), processing, arrival-to-visible, sending.

Usage (a PostgreSQL server where we may create a scratch database, Redis at its usual port):

    scripts/bench mail                      # 1000 messages per ingest path, 10 s at 10/s
    scripts/bench mail --messages 300 --seconds 5 --json

In one scratch database (dropped at the end unless --keep) it measures, in this process:

1. HTTP ingest: --messages signed POSTs of distinct corpus-like messages to
   /api/v1/inbound/email/{id} through the ASGI app, one at a time: messages/s, CPU ms/message;
2. IMAP ingest: the same number appended to a real dovecot (scripts/lib/mailservers.py), then
   one catch-up of the worker's IMAP loop (store raw + queue job + flag each): messages/s;
3. processing: the processing job over every stored message, one at a time (= one worker slot):
   messages/s and CPU ms/message (parse, thread, ticket or message, attachments);
4. arrival-to-visible: messages POSTed at --rate/s for --seconds while one processing loop
   polls for received rows: p50/p99 of (processed_at - received_at);
5. outbound: --messages agent replies queued, then sent one by one to an aiosmtpd sink: sends/s.

Targets (issue 22): >= 50 messages/s per worker ingested; p99 arrival-to-visible < 2 s at 10/s.
Bounded runs on 127.0.0.1; a report, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import select, text

from helpline.app import create_app
from helpline.attachment.storage import LocalStorage
from helpline.config import Environment, Settings
from helpline.db import Database, make_engine
from helpline.kit.clock import utcnow
from helpline.mail.imap_loop import MailboxWatcher, imap_source
from helpline.mail.processing import Processor
from helpline.mail.sending import Sender
from helpline.models import InboundEmail, Mailbox, OutboundEmail
from helpline.models.enums import Role
from helpline.user import service as user_service
from helpline.user.schemas import UserCreate
from scripts.lib.mailservers import Dovecot, SinkHandler, SmtpSink, start_sink
from scripts.lib.services import LocalServices, create_database, drop_database, server_url


def message(i: int, domain: str) -> bytes:
    return (
        f"From: Customer {i} <c{i}@customer.example>\r\nTo: support@{domain}\r\n"
        f"Subject: Problem number {i} with the printer\r\n"
        f"Message-ID: <bench-{uuid.uuid4().hex}@customer.example>\r\n"
        "Date: Mon, 07 Dec 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        + ("The printer on the third floor shows error 42 again.\r\n" * 20)
        + "\r\n> On Monday you wrote:\r\n> earlier text\r\n"
    ).encode()


def signed(secret: str, raw: bytes) -> dict[str, str]:
    msg_id, stamp = f"msg_{uuid.uuid4().hex}", str(int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    sig = base64.b64encode(
        hmac.new(key, f"{msg_id}.{stamp}.".encode() + raw, hashlib.sha256).digest()
    )
    return {
        "content-type": "message/rfc822",
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + sig.decode(),
    }


async def admin_key(database: Database, settings: Settings) -> str:
    """An admin and an API key of theirs, made through the services (as the CLI does)."""
    from helpline.auth import service as auth_service

    async with database.transaction() as s:
        user = await user_service.create_user(
            s, UserCreate(email="bench-admin@example.com", name="Bench admin", role=Role.admin)
        )
        issued = await auth_service.issue_api_key(
            s,
            user_id=user.id,
            role=Role.admin,
            name="bench",
            pepper=settings.api_key_pepper.get_secret_value().encode(),
        )
    return str(issued.secret)


async def process_all(processor: Processor, database: Database) -> tuple[int, float, float]:
    async with database.transaction() as s:
        ids = (
            (await s.execute(select(InboundEmail.id).where(InboundEmail.status == "received")))
            .scalars()
            .all()
        )
    wall, cpu = time.perf_counter(), time.process_time()
    for i in ids:
        await processor.run(i)
    return len(ids), time.perf_counter() - wall, time.process_time() - cpu


async def run(args: argparse.Namespace, url: str) -> dict[str, object]:
    report: dict[str, object] = {"messages": args.messages}
    tmp = Path(tempfile.mkdtemp(prefix="hl-bench-mail-"))
    settings = Settings(
        env=Environment.test,
        database_url=url,
        redis_url=os.environ.get("HELPLINE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        redis_key_prefix=f"bench-mail-{uuid.uuid4().hex[:8]}",
        secret_key="bench-secret-" + "x" * 32,
        api_key_pepper="bench-pepper-" + "y" * 32,
        attachments_dir=tmp / "attachments",
        anonymous_rate_limit_per_minute=1_000_000,
        mail_flood_limit=1_000_000,
        log_level="WARNING",
        access_log=False,
    )
    database = Database(make_engine(url, settings))
    app = create_app(settings, database=database, background=False)
    processor = Processor(
        database=database,
        settings=settings,
        storage=LocalStorage(tmp / "attachments"),
        clock=utcnow,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            key = await admin_key(database, settings)
            headers = {"Authorization": f"Bearer {key}"}
            box = (
                await client.post(
                    "/api/v1/mailboxes", json={"address": "support@http.example"}, headers=headers
                )
            ).json()
            # 1. HTTP ingest
            raws = [message(i, "http.example") for i in range(args.messages)]
            wall, cpu = time.perf_counter(), time.process_time()
            for raw in raws:
                r = await client.post(
                    f"/api/v1/inbound/email/{box['id']}",
                    content=raw,
                    headers=signed(box["inbound_secret"], raw),
                )
                assert r.status_code == 202, r.text
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            report["http_ingest_per_s"] = round(args.messages / wall, 1)
            report["http_ingest_cpu_ms_per_message"] = round(cpu * 1000 / args.messages, 2)
            # 3. processing (one worker slot)
            n, wall, cpu = await process_all(processor, database)
            report["processing_per_s"] = round(n / wall, 1)
            report["processing_cpu_ms_per_message"] = round(cpu * 1000 / n, 2)
            # 2. IMAP ingest
            if not args.no_imap:
                server = Dovecot(Path(tempfile.mkdtemp(prefix="hl-dc-")))
                server.start()
                try:
                    for i in range(args.messages):
                        server.append(message(i, "imap.example"))
                    imap_box = (
                        await client.post(
                            "/api/v1/mailboxes",
                            json={"address": "support@imap.example", "imap_url": server.url()},
                            headers=headers,
                        )
                    ).json()
                    watcher = MailboxWatcher(
                        uuid.UUID(imap_box["id"]), server.url(), database, settings, utcnow
                    )
                    source = await imap_source().connect(server.url())
                    uidvalidity, _ = await source.select()
                    wall, cpu = time.perf_counter(), time.process_time()
                    stored = await watcher.catch_up(source, int(uidvalidity))
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                    await source.close()
                    report["imap_ingest_per_s"] = round(stored / wall, 1)
                    report["imap_ingest_cpu_ms_per_message"] = round(cpu * 1000 / max(stored, 1), 2)
                finally:
                    server.stop()
                await process_all(processor, database)
            # 4. arrival-to-visible at --rate/s
            stop = asyncio.Event()

            async def consume() -> None:
                while not stop.is_set():
                    await process_all(processor, database)
                    await asyncio.sleep(0.02)

            consumer = asyncio.create_task(consume())
            interval = 1 / args.rate
            started = time.perf_counter()
            for i in range(int(args.rate * args.seconds)):
                raw = message(10_000 + i, "http.example")
                await client.post(
                    f"/api/v1/inbound/email/{box['id']}",
                    content=raw,
                    headers=signed(box["inbound_secret"], raw),
                )
                await asyncio.sleep(max(0.0, started + (i + 1) * interval - time.perf_counter()))
            await asyncio.sleep(2)
            stop.set()
            await consumer
            async with database.transaction() as s:
                rows = (
                    (
                        await s.execute(
                            text(
                                "SELECT extract(epoch FROM processed_at - received_at)"
                                " FROM inbound_emails WHERE status = 'processed'"
                                " ORDER BY received_at DESC LIMIT :n"
                            ),
                            {"n": int(args.rate * args.seconds)},
                        )
                    )
                    .scalars()
                    .all()
                )
            latencies = sorted(float(x) for x in rows)
            report["visible_p50_ms"] = round(statistics.median(latencies) * 1000, 1)
            report["visible_p99_ms"] = round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1)
            # 5. outbound
            handler = SinkHandler()
            controller, port = start_sink(handler)
            try:
                async with database.transaction() as s:
                    tickets = (
                        (
                            await s.execute(
                                text("SELECT id FROM tickets LIMIT :n"), {"n": args.messages}
                            )
                        )
                        .scalars()
                        .all()
                    )
                for t in tickets:
                    await client.post(
                        f"/api/v1/tickets/{t}/conversations",
                        json={"message": "On it."},
                        headers=headers,
                    )
                sender = Sender(
                    database=database,
                    settings=settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"}),
                    clock=utcnow,
                )
                async with database.transaction() as s:
                    ids = (
                        (
                            await s.execute(
                                select(OutboundEmail.id).where(OutboundEmail.status == "queued")
                            )
                        )
                        .scalars()
                        .all()
                    )
                wall = time.perf_counter()
                for i in ids:
                    await sender.run(i)
                wall = time.perf_counter() - wall
                report["outbound_sends_per_s"] = round(len(ids) / wall, 1)
                report["outbound_received_by_sink"] = len(
                    SmtpSink(controller, handler, "").received
                )
            finally:
                controller.stop()
            async with database.transaction() as s:
                report["mailboxes"] = len((await s.execute(select(Mailbox.id))).all())
    await database.dispose()
    return report


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="scripts/bench mail",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-imap", action="store_true", help="skip the dovecot part")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    server = os.environ.get("HELPLINE_BENCH_SERVER_URL") or server_url(LocalServices())
    url = create_database(server, prefix="helpline_bench_mail")
    try:
        report = asyncio.run(run(args, url))
    finally:
        if not args.keep:
            drop_database(server, url)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for k, v in report.items():
            print(f"{k:36} {v}")
