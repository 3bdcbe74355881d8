"""Unknown HTTP methods against a real `helpline serve` (uvicorn + httptools): llhttp rejects
methods it does not know, so this is the HTTP server's behaviour, not the app's alone."""

from __future__ import annotations

import json
import socket
import uuid
from urllib.parse import urlsplit

import pytest

from tests.fixtures.live_server import LiveServer, live_server, server_env
from tests.fixtures.services import create_database, drop_database, redis_url

pytestmark = pytest.mark.security


@pytest.fixture(scope="module")
def server(pg_server, services, tmp_path_factory):
    database_url = create_database(pg_server)
    env = server_env(database_url, redis_url(services), f"helpline-methods-{uuid.uuid4().hex[:8]}")
    try:
        with live_server(env, tmp_path_factory.mktemp("methods") / "server.log") as s:
            yield s
    finally:
        drop_database(pg_server, database_url)


def exchange(server: LiveServer, *requests: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """Send raw requests on one connection, one after the other's answer; the answers."""
    parts = urlsplit(server.base_url)
    answers = []
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        stream = sock.makefile("rb")
        for request in requests:
            sock.sendall(request)
            status_line = stream.readline()
            if not status_line:
                break
            headers: dict[str, str] = {}
            while (line := stream.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = stream.read(int(headers.get("content-length", "0")))
            answers.append((int(status_line.split()[1]), headers, body))
        closed = stream.read() == b""
    answers.append((0, {"closed": str(closed)}, b""))
    return answers


class TestUnknownMethods:
    @pytest.mark.parametrize("method", [b"FOOBAR", b"get", b"Post", b"BREW"])
    def test_an_unknown_method_is_a_405_problem_with_allow(self, server, method):
        request = method + b" /api/v1/tickets HTTP/1.1\r\nHost: h\r\n\r\n"
        [(status, headers, body), (_, end, _)] = exchange(server, request)
        assert status == 405
        assert headers["content-type"] == "application/problem+json"
        assert set(headers["allow"].split(", ")) >= {"GET", "POST"}
        assert headers["x-request-id"]
        problem = json.loads(body)
        assert problem["type"] == "/problems/method-not-allowed"
        assert problem["status"] == 405
        assert problem["instance"] == "/api/v1/tickets"
        assert end["closed"] == "True"  # the body was not read: the server closes

    def test_an_unknown_method_on_an_unknown_path_is_a_404_problem(self, server):
        [(status, headers, body), _] = exchange(server, b"FOOBAR /nope HTTP/1.1\r\nHost: h\r\n\r\n")
        assert status == 404
        assert headers["content-type"] == "application/problem+json"
        assert json.loads(body)["type"] == "/problems/not-found"

    def test_after_a_kept_alive_request_and_with_a_body(self, server):
        answers = exchange(
            server,
            b"GET /health/live HTTP/1.1\r\nHost: h\r\n\r\n",
            b"get /health/live HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
        )
        assert [a[0] for a in answers[:2]] == [200, 405]
        assert "GET" in answers[1][1]["allow"]
        assert json.loads(answers[1][2])["instance"] == "/health/live"

    def test_garbage_is_still_the_servers_plain_400(self, server):
        [(status, headers, body), _] = exchange(server, b"\x00\x01 / HTTP/1.1\r\n\r\n")
        assert status == 400
        assert headers["content-type"].startswith("text/plain")
        assert body == b"Invalid HTTP request received."
