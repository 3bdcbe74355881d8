"""Helpers shared by the test_delivery_* modules (fake HTTP server, paths, tool runner)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

Route = Callable[[str, dict[str, str]], tuple[int, str, object]]


def tool(name: str) -> str:
    """A dev tool from the same environment as the test interpreter."""
    candidate = BIN / name
    return str(candidate) if candidate.exists() else name


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.update(kwargs.pop("env", {}) or {})  # type: ignore[arg-type]
    return subprocess.run(
        args, capture_output=True, text=True, cwd=kwargs.pop("cwd", REPO), env=env, **kwargs
    )  # type: ignore[call-overload]


@contextmanager
def fake_server(route: Route) -> Iterator[str]:
    """A loopback HTTP server answering JSON from ``route(path, headers)``; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, content_type, body = route(self.path, dict(self.headers))
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
