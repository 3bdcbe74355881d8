"""The HTTP server's protocol: uvicorn's httptools protocol, letting unknown methods reach the app.

llhttp (httptools' parser) knows a fixed set of methods and rejects any other — ``FOOBAR``, or
``get`` in lower case (methods are case-sensitive, RFC 9110 §9.1) — as a parse error, which
uvicorn answers with a plain-text ``400 Invalid HTTP request received.`` that the application
never sees. A request line with a syntactically valid method (an RFC 9110 token) is a
well-formed request for a method this server does not implement, so this protocol hands it to
the application instead: its router answers ``405 method-not-allowed`` as problem+json with
``Allow`` listing the methods the path serves (``404 not-found`` for an unknown path), with a
request id, an access-log line and the per-IP rate limit like any other request. The body, if
any, is not read, and the connection is closed after the answer.

Only a request that starts a message is handled this way (the first of a connection, or one
after a completed response). An unknown method later in a pipelined burst, or a request line
that is not HTTP/1.x, still gets uvicorn's plain-text 400 (docs/reference/problems.md says so).
"""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

# Methods llhttp knows need no second look (the usual ones, checked by prefix).
_COMMON = (b"GET ", b"POST ", b"PUT ", b"PATCH ", b"DELETE ", b"HEAD ", b"OPTIONS ")
# method SP request-target SP HTTP/1.x — the method an RFC 9110 token.
_REQUEST_LINE = re.compile(rb"^([!#$%&'*+\-.^_`|~0-9A-Za-z]{1,32}) (\S{1,8192}) HTTP/1\.([01])$")
_HEAD_LIMIT = 65_536


class _Ignore:
    """Parser callbacks for the throwaway parser that only tests a method."""


def _method_is_unknown(data: bytes) -> bool:
    """True when llhttp would reject the method this message starts with."""
    if data.startswith(_COMMON):
        return False
    space = data.find(b" ", 0, 34)
    if space <= 0:
        return False  # not a method token at all (or not all here): uvicorn decides
    try:
        httptools.HttpRequestParser(_Ignore()).feed_data(data[: space + 1])
    except httptools.HttpParserInvalidMethodError:
        return True
    except httptools.HttpParserError:
        return False
    return False


class HelplineHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; requests with methods llhttp does not know reach the app."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_message = False
        self._answering_unknown_method = False

    def on_message_begin(self) -> None:
        self._in_message = True
        super().on_message_begin()

    def on_message_complete(self) -> None:
        self._in_message = False
        super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        if self._answering_unknown_method:
            return  # the rest of that request (its body): not read, the connection closes
        if not self._in_message and _method_is_unknown(data) and self._dispatch(data):
            return
        super().data_received(data)

    def _dispatch(self, data: bytes) -> bool:
        """Run the app for a request with an unknown method; False when the head is not a
        request line this can parse (uvicorn then answers as it always does)."""
        end = data.find(b"\r\n\r\n", 0, _HEAD_LIMIT)
        head = data[:end] if end >= 0 else data[: data.find(b"\r\n")]
        lines = head.split(b"\r\n")
        match = _REQUEST_LINE.match(lines[0])
        if match is None:
            return False
        method, target, minor = match.groups()
        try:
            parsed = httptools.parse_url(target)
        except httptools.HttpParserInvalidURLError:
            return False
        self._unset_keepalive_if_required()  # as uvicorn's data_received does first
        self._answering_unknown_method = True
        self.flow.pause_reading()
        self.on_message_begin()
        for line in lines[1:] if end >= 0 else ():
            name, sep, value = line.partition(b":")
            if sep and name and not name[-1:].isspace():
                self.on_header(name, value.strip(b" \t"))
        raw_path = parsed.path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        self.scope["method"] = method.decode("ascii")
        self.scope["http_version"] = f"1.{minor.decode()}"
        self.scope["path"] = self.root_path + path
        self.scope["raw_path"] = self.root_path.encode("ascii") + raw_path
        self.scope["query_string"] = parsed.query or b""
        self.cycle = RequestResponseCycle(
            scope=self.scope,
            transport=self.transport,
            flow=self.flow,
            logger=self.logger,
            access_logger=self.access_logger,
            access_log=self.access_log,
            default_headers=self.server_state.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=False,
            keep_alive=False,  # the body was not read: close after the answer
            on_response=self.on_response_complete,
        )
        self.cycle.more_body = False  # the app sees an empty body
        self._start_asgi_task(self.cycle, self.app)
        return True
