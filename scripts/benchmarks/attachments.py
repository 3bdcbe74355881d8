"""Attachment throughput and server memory against a real `helpline serve`.

Usage (a PostgreSQL server; a throwaway database is created, migrated and dropped):

    scripts/bench attachments [--size-mib 20] [--rounds 5] [--big-mib 100]

Starts `helpline serve` (1 worker) on a free port with attachments in a temporary directory and
the size limit raised to fit the big file, creates a customer with an API key, then reports:
upload and download throughput (MiB/s, median of --rounds) for a --size-mib file over HTTP on
loopback, and the server's resident memory (VmRSS sampled every 10 ms, plus the kernel's VmHWM
peak) before and during the upload of a --big-mib file. The client streams its request bodies,
so its own memory does not matter. Each round uploads different bytes (no dedup shortcut).
A report, not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from scripts.lib import benchkit
from scripts.lib.live_server import server_env
from scripts.lib.services import (
    LocalServices,
    create_database,
    drop_database,
    redis_url,
    server_url,
)

MIB = 1024 * 1024
BOUNDARY = "helpline-bench-boundary"


def multipart(size: int, seed: int) -> Iterator[bytes]:
    """A multipart body streaming ``size`` bytes of a PNG-looking file, 1 MiB at a time."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="bench.png"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    block = b"\x89PNG\r\n\x1a\n" + seed.to_bytes(8, "big") + os.urandom(MIB - 16)
    sent = 0
    while sent < size:
        chunk = block[: min(MIB, size - sent)]
        yield chunk
        sent += len(chunk)
        block = os.urandom(len(block))
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            self.stop.wait(0.01)


def upload(
    client: httpx.Client, headers: dict[str, str], size: int, seed: int
) -> tuple[str, float]:
    started = time.perf_counter()
    r = client.post(
        "/api/v1/attachments",
        content=multipart(size, seed),
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    elapsed = time.perf_counter() - started
    if r.status_code != 201:
        raise SystemExit(f"upload failed: {r.status_code} {r.text[:300]}")
    return r.json()["id"], elapsed


def download(client: httpx.Client, headers: dict[str, str], ident: str) -> tuple[int, float]:
    started = time.perf_counter()
    received = 0
    with client.stream("GET", f"/api/v1/attachments/{ident}/content", headers=headers) as r:
        if r.status_code != 200:
            raise SystemExit(f"download failed: {r.status_code}")
        for chunk in r.iter_bytes():
            received += len(chunk)
    return received, time.perf_counter() - started


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--big-mib", type=int, default=100)
    args = parser.parse_args(argv)

    services = LocalServices()
    server = server_url(services)
    database_url = create_database(server, prefix="helpline_bench")
    workdir = Path(tempfile.mkdtemp(prefix="helpline-bench-att-"))
    env = server_env(
        database_url,
        redis_url(services),
        f"bench-att-{uuid.uuid4().hex[:8]}",
        HELPLINE_ATTACHMENTS_DIR=str(workdir / "attachments"),
        HELPLINE_ATTACHMENT_MAX_BYTES=str((args.big_mib + 1) * MIB),
        HELPLINE_DEFAULT_RATE_LIMIT_PER_MINUTE="100000",
        HELPLINE_ACCESS_LOG="false",
        HELPLINE_LOG_LEVEL="WARNING",
    )
    try:
        with benchkit.serve(env, workdir / "server.log") as srv:
            report(args, srv, benchkit.create_user_key(env, "customer"))
    finally:
        drop_database(server, database_url)
        subprocess.run(["rm", "-rf", str(workdir)], check=False)


def report(args: argparse.Namespace, srv: benchkit.Server, key: str) -> None:
    """Upload/download throughput and the server's memory during a large upload."""
    proc, base = srv.process, srv.base_url
    headers = {"Authorization": f"Bearer {key}"}
    size = args.size_mib * MIB
    with httpx.Client(base_url=base, timeout=300) as client:
        upload(client, headers, MIB, 0)  # warm-up
        idle_rss = rss_kib(proc.pid)

        sampler = RssSampler(proc.pid)
        sampler.start()
        _, big_s = upload(client, headers, args.big_mib * MIB, 1)
        sampler.stop.set()
        sampler.join()
        hwm = rss_kib(proc.pid, "VmHWM")

        up, down, ids = [], [], []
        for i in range(args.rounds):
            ident, seconds = upload(client, headers, size, 100 + i)
            ids.append(ident)
            up.append(args.size_mib / seconds)
        for ident in ids:
            received, seconds = download(client, headers, ident)
            assert received == size, received
            down.append(args.size_mib / seconds)

    print(f"server: helpline serve, 1 worker, local storage, {args.rounds} rounds")
    print(
        f"upload   {args.size_mib} MiB: median {statistics.median(up):7.1f} MiB/s "
        f"(min {min(up):.1f}, max {max(up):.1f})"
    )
    print(
        f"download {args.size_mib} MiB: median {statistics.median(down):7.1f} MiB/s "
        f"(min {min(down):.1f}, max {max(down):.1f})"
    )
    print(
        f"server RSS: idle {idle_rss / 1024:.1f} MiB; during the {args.big_mib} MiB upload "
        f"({args.big_mib / big_s:.1f} MiB/s) peak {sampler.peak / 1024:.1f} MiB "
        f"(+{(sampler.peak - idle_rss) / 1024:.1f} MiB); VmHWM {hwm / 1024:.1f} MiB"
    )
