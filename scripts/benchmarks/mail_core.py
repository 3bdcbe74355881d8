"""Measure the email channel's pure core on this machine: parsing, IMAP fetch, SMTP send.

Usage:  scripts/bench mail-core [--seconds 5] [--imap-messages 500] [--smtp-messages 200]

- parse: parse_message over the .eml corpus (tests/fixtures/mail) in a loop: messages/s (wall)
  and CPU ms per message (process time; on a loaded machine the CPU figure is the one to read);
- IMAP: a real dovecot (scripts/lib/mailservers.py: throw-away config, installed by
  scripts/lib/mail-deps.sh when missing) holding N corpus messages; ImapSource.fetch_since(0)
  fetches them one UID FETCH at a time: messages/s and client CPU per message; then
  mark_processed (\\Seen) per second;
- SMTP: send() of one composed reply to an aiosmtpd sink, a new connection each time.
End-to-end ingestion (raw store, job, ticket) is measured by `scripts/bench mail`. The corpus
files are read as data (tests/fixtures/mail/*.eml); no test module is imported.
This is a report, not a test: nothing here fails a build.
"""

from __future__ import annotations

import argparse
import asyncio
import imaplib
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from helpline.mail.compose import compose_reply
from helpline.mail.imap import ImapSource
from helpline.mail.message import Address, parse_message
from helpline.mail.smtp import send
from scripts.lib.mailservers import Dovecot, SinkHandler, start_sink

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted((ROOT / "tests/fixtures/mail").glob("*.eml"))


def bench_parse(seconds: float) -> None:
    messages = [p.read_bytes() for p in CORPUS]
    for raw in messages:
        parse_message(raw)
    count, started, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        for raw in messages:
            parse_message(raw, own_domains=["helpline.test"])
            count += 1
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    size = sum(map(len, messages)) // len(messages)
    print(f"parse: {count / wall:.0f} msg/s wall, {cpu / count * 1000:.2f} ms CPU/msg "
          f"({len(messages)} corpus messages, mean {size} B)")  # fmt: skip


async def bench_imap(count: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="hl-dovecot-"))
    server = Dovecot(root)
    server.start()
    try:
        corpus = [p.read_bytes() for p in CORPUS]
        client = imaplib.IMAP4(server.host, server.port)
        client.login(server.user, server.password)
        for i in range(count):
            client.append("INBOX", None, None, corpus[i % len(corpus)])
        client.logout()
        async with await ImapSource.connect(server.url()) as source:
            await source.select()
            started, cpu, fetched = time.perf_counter(), time.process_time(), 0
            async for _uid, _raw in source.fetch_since(0):
                fetched += 1
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(f"IMAP fetch_since: {fetched} messages, {fetched / wall:.0f} msg/s, "
                  f"client CPU {cpu / fetched * 1000:.2f} ms/msg")  # fmt: skip
            marked = min(100, fetched)
            started = time.perf_counter()
            for uid in range(1, marked + 1):
                await source.mark_processed(uid)
            print(f"IMAP mark_processed (\\Seen): {marked / (time.perf_counter() - started):.0f}/s")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


async def bench_smtp(count: int) -> None:
    controller, port = start_sink(SinkHandler())
    try:
        message = compose_reply(
            from_address=Address("Support", "support@helpline.test"),
            to=[Address("", "customer@customer.test")],
            subject="Printer jam",
            ticket_number=1,
            message_id="helpline.bench@helpline.test",
            date=datetime.now(UTC),
            text="Hello,\n\nplease restart the printer.\n" * 20,
        )
        started = time.perf_counter()
        for _ in range(count):
            await send(f"smtp://127.0.0.1:{port}", message, timeout=10)
        wall = time.perf_counter() - started
        print(f"SMTP send: {count} messages, {count / wall:.0f} msg/s (a new connection each)")
    finally:
        controller.stop()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="scripts/bench mail-core", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--imap-messages", type=int, default=500)
    parser.add_argument("--smtp-messages", type=int, default=200)
    args = parser.parse_args(argv)
    bench_parse(args.seconds)
    asyncio.run(bench_imap(args.imap_messages))
    asyncio.run(bench_smtp(args.smtp_messages))
