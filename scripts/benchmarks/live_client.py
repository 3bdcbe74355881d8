"""The client processes of `scripts/bench live`: each opens its share of the streams on plain
sockets and notes when each event arrived. Standard library only: a spawned process imports
this module alone, so it starts in well under a second even on a loaded machine (importing the
benchmark's own module, with SQLAlchemy, took tens of seconds there).
"""

from __future__ import annotations

import asyncio
import resource
import time
from multiprocessing.connection import Connection

STREAM = "/api/v1/events/stream"
TITLE = '"title":"'


async def sse_lines(
    host: str, port: int, key: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a stream; return it positioned after the response headers. Keep the writer: a
    StreamWriter that is garbage collected closes the connection."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET {STREAM} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"stream refused: {status!r}")
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    return reader, writer


async def consume(
    host: str,
    port: int,
    key: str,
    arrivals: dict[str, list[float]],
    ready: list[int],
    delivered: list[int],
) -> None:
    # The body is chunked; the server sends each SSE message as one chunk, so every line of a
    # message arrives whole and the chunk-size lines are simply not SSE lines.
    reader, writer = await sse_lines(host, port, key)
    while line := await reader.readline():
        if line.startswith(b"data: {"):
            now = time.monotonic()
            text = line.decode()
            at = text.find(TITLE)
            if at >= 0:
                title = text[at + len(TITLE) : text.index('"', at + len(TITLE))]
                arrivals.setdefault(title, []).append(now)
                delivered[0] += 1
        elif line.startswith(b"event: ready"):
            ready[0] += 1
    writer.close()


def client_process(conn: Connection, host: str, port: int, key: str, streams: int) -> None:
    """Open ``streams`` streams; report "ready" counts and deliveries until told to stop."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # one descriptor per stream

    async def run() -> None:
        arrivals: dict[str, list[float]] = {}
        ready, delivered, failed = [0], [0], [0]

        reasons: dict[str, int] = {}

        async def one() -> None:
            try:
                await consume(host, port, key, arrivals, ready, delivered)
            except (OSError, RuntimeError, EOFError, ValueError) as exc:
                failed[0] += 1
                reason = f"{type(exc).__name__}: {exc}"[:200]
                reasons[reason] = reasons.get(reason, 0) + 1

        tasks = [asyncio.create_task(one()) for _ in range(streams)]
        loop = asyncio.get_running_loop()
        start_cpu = time.process_time()
        while True:
            if conn.poll():
                message = conn.recv()
                if message == "stop":
                    break
                if message == "cpu":
                    start_cpu = time.process_time()
            conn.send(("count", ready[0], delivered[0], failed[0], reasons))
            await asyncio.sleep(0.2)
        cpu = time.process_time() - start_cpu
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        conn.send(("done", arrivals, cpu, loop.time()))

    asyncio.run(run())
