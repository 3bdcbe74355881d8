"""Serving the built web interface (frontend/dist) at `/`, beside the API.

The single-page app is served by the router's *default* handler, which Starlette calls only when
no route matched at all: the API's own 404/405 answers stay exactly as they are, and no
catch-all route shows up in the OpenAPI document or in `Allow` headers.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from helpline.config import Settings

# Paths that belong to the API: never answered with index.html, so a typo there stays a 404.
API_PREFIXES = ("/api", "/graphql", "/docs", "/redoc", "/openapi.json", "/health", "/metrics")

# The HTML loads only its own hashed scripts and styles; the API is same-origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HTML_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
IMMUTABLE = "public, max-age=31536000, immutable"

# Precompressed siblings written by the build (frontend/scripts/compress.mjs), best first:
# `app-1a2b.js.br`, `app-1a2b.js.gz`. Served as they are, never compressed per request.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def accepted_encodings(header: str) -> set[str]:
    """The content codings an `Accept-Encoding` header accepts (q > 0; `*` counts for all)."""
    accepted: set[str] = set()
    refused: set[str] = set()
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip().lower()
        if not name:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        (accepted if q > 0 else refused).add(name)
    if "*" in accepted:
        accepted |= {name for name, _ in ENCODINGS} - refused
    return accepted - refused


NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Helpline</title></head>
<body><main><h1>The web interface is not built</h1>
<p>Build it with Node.js 20+: <code>npm --prefix frontend ci &amp;&amp;
npm --prefix frontend run build</code> (<code>scripts/dev</code> does this for you), or set
<code>HELPLINE_FRONTEND_DIR</code>.</p>
<p>The API is available: <a href="/docs">/docs</a>.</p></main></body></html>
"""


def is_api_path(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in API_PREFIXES)


class SinglePageApp:
    """ASGI handler for unmatched requests: files of the build, else index.html (client routes)."""

    def __init__(self, root: Path, fallback: ASGIApp) -> None:
        self.root = root.resolve()
        self.fallback = fallback

    def _file(self, path: str) -> Path | None:
        """The build file a URL path names, if it exists inside the build (no traversal)."""
        candidate = (self.root / path.lstrip("/")).resolve()
        if candidate != self.root and candidate.is_relative_to(self.root) and candidate.is_file():
            return candidate
        return None

    def _response(self, request: Request) -> Response | None:
        path = request.url.path
        index = self.root / "index.html"
        if not index.is_file():
            if "text/html" in request.headers.get("accept", ""):
                return HTMLResponse(NOT_BUILT_PAGE, status_code=404, headers=HTML_HEADERS)
            return None  # the API's ordinary problem+json 404
        found = self._file(path)
        if path.startswith("/assets/"):  # hashed names: a missing one is a real 404
            if found is None:
                return None
            return self._asset(found, request.headers.get("accept-encoding", ""))
        if found is not None and found.name != "index.html":
            return FileResponse(found, headers={"Cache-Control": "no-cache"})
        if "." in path.rsplit("/", 1)[-1]:  # a missing file, not a client route
            return None
        return FileResponse(index, media_type="text/html", headers=HTML_HEADERS)

    def _asset(self, found: Path, accept_encoding: str) -> Response:
        """A hashed asset, as its precompressed sibling when the client takes that coding."""
        siblings = [(coding, found.with_name(found.name + suffix)) for coding, suffix in ENCODINGS]
        siblings = [(coding, path) for coding, path in siblings if path.is_file()]
        headers = {"Cache-Control": IMMUTABLE}
        if not siblings:
            return FileResponse(found, headers=headers)
        headers["Vary"] = "Accept-Encoding"  # caches keep one copy per coding
        accepted = accepted_encodings(accept_encoding)
        for coding, path in siblings:
            if coding in accepted:
                media_type = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
                headers["Content-Encoding"] = coding
                return FileResponse(path, media_type=media_type, headers=headers)
        return FileResponse(found, headers=headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.fallback(scope, receive, send)
            return
        if is_api_path(scope["path"]):
            await self.fallback(scope, receive, send)
            return
        response = self._response(Request(scope))
        if response is None:
            await self.fallback(scope, receive, send)
            return
        await response(scope, receive, send)


def mount_frontend(app: FastAPI, settings: Settings) -> None:
    """Serve the web interface for every GET that no API route answers."""
    app.router.default = SinglePageApp(settings.frontend_dir, app.router.default)
