"""Serving the built web interface at `/` beside the API (backend/helpline/server/spa.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from helpline.app import create_app
from helpline.config import Settings
from helpline.db import Database
from tests.fixtures.clock import FakeClock

pytestmark = pytest.mark.integration

INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js">'


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX + "</script></head><body></body></html>")
    (root / "assets" / "index-abc123.js").write_text("console.log('app')")
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_text("outside the build")
    return root


async def _client(
    settings: Settings, frontend_dir: Path, db: Database, redis: Any, clock: FakeClock
) -> AsyncIterator[httpx.AsyncClient]:
    application: FastAPI = create_app(
        settings.model_copy(update={"frontend_dir": frontend_dir}),
        background=False,
        database=db,
        redis=redis,
        clock=clock,
    )
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://helpline.test") as c:
            yield c


@pytest.fixture
async def web(settings, dist, db, redis, clock) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(settings, dist, db, redis, clock):
        yield c


@pytest.fixture
async def unbuilt(settings, tmp_path, db, redis, clock) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(settings, tmp_path / "missing", db, redis, clock):
        yield c


class TestSinglePageApp:
    async def test_root_serves_index_with_no_cache_and_strict_csp(self, web):
        r = await web.get("/")
        assert r.status_code == 200
        assert r.text.startswith(INDEX)
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["cache-control"] == "no-cache"
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self';" in csp
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"

    @pytest.mark.parametrize("path", ["/inbox", "/tickets/0195f2a4-6b1e-7c3a", "/admin/keys"])
    async def test_client_routes_fall_back_to_index(self, web, path):
        r = await web.get(path, params={"status": "open"})
        assert r.status_code == 200
        assert r.text.startswith(INDEX)
        assert r.headers["cache-control"] == "no-cache"

    async def test_hashed_assets_are_cached_for_a_year(self, web):
        r = await web.get("/assets/index-abc123.js")
        assert r.status_code == 200
        assert r.text == "console.log('app')"
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "javascript" in r.headers["content-type"]
        assert "content-security-policy" not in r.headers

    async def test_head_of_an_asset_has_no_body(self, web):
        r = await web.head("/assets/index-abc123.js")
        assert r.status_code == 200
        assert r.content == b""

    async def test_other_build_files_are_revalidated(self, web):
        r = await web.get("/favicon.svg")
        assert r.status_code == 200
        assert r.headers["cache-control"] == "no-cache"

    @pytest.mark.parametrize(
        "path", ["/assets/index-gone.js", "/robots.txt", "/assets/../../secret.txt"]
    )
    async def test_missing_files_are_404_problems_not_index(self, web, path):
        r = await web.get(path)
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        assert "outside the build" not in r.text

    async def test_encoded_traversal_stays_inside_the_build(self, web):
        r = await web.get("/%2e%2e/secret.txt")
        assert r.status_code == 404
        assert "outside the build" not in r.text

    @pytest.mark.parametrize(
        "path",
        ["/api/v1/nope", "/api", "/graphql/x", "/docs/nope", "/health/nope", "/metrics/x"],
    )
    async def test_api_paths_never_get_the_app(self, web, path):
        r = await web.get(path, headers={"Accept": "text/html"})
        assert r.status_code == 404
        assert r.json()["type"] == "/problems/not-found"

    async def test_api_routes_and_their_405s_are_unchanged(self, web):
        r = await web.get("/api/v1/tickets")
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
        r = await web.put("/api/v1/tickets")
        assert r.status_code == 405
        assert "HEAD" not in r.headers["allow"]
        assert (await web.get("/openapi.json")).json()["info"]["title"] == "Helpline"

    async def test_unsafe_methods_on_client_routes_are_404(self, web):
        r = await web.post("/inbox", json={})
        assert r.status_code == 404
        assert r.json()["type"] == "/problems/not-found"

    async def test_the_app_is_not_in_the_openapi_document(self, web):
        paths = (await web.get("/openapi.json")).json()["paths"]
        assert all(p.startswith(("/api/", "/graphql", "/health", "/metrics")) for p in paths)


class TestNotBuilt:
    async def test_browser_gets_a_page_saying_how_to_build(self, unbuilt):
        r = await unbuilt.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
        assert r.status_code == 404
        assert "The web interface is not built" in r.text
        assert "npm --prefix frontend ci" in r.text
        assert r.headers["content-security-policy"].startswith("default-src 'self'")

    async def test_other_clients_get_a_problem(self, unbuilt):
        r = await unbuilt.get("/inbox", headers={"Accept": "application/json"})
        assert r.status_code == 404
        assert r.json()["type"] == "/problems/not-found"

    async def test_the_api_still_works(self, unbuilt):
        r = await unbuilt.get("/health/live")
        assert r.status_code == 200
        assert r.json() == {"status": "ok"}
        # An API path is the API's, even from a browser: a problem, not the "not built" page.
        r = await unbuilt.get("/api/v1/tickets", headers={"Accept": "text/html"})
        assert r.status_code == 401
        assert r.json()["type"] == "/problems/unauthenticated"


class TestDemoAdminSignsIn:
    async def test_special_use_domain_email_can_log_in(self, client, session):
        """The seeded admin is admin@helpline.local (seed_admin_email): scripts/dev prints it."""
        from helpline.kit.ids import new_id
        from helpline.kit.passwords import hash_password
        from helpline.models import User

        password = "Quill-Harbor-Violet-58"
        session.add(
            User(
                id=new_id(),
                email="admin@helpline.local",
                name="Demo Admin",
                role="admin",
                password_hash=hash_password(password),
            )
        )
        await session.commit()
        r = await client.post(
            "/api/v1/auth/login", json={"email": "Admin@Helpline.local", "password": password}
        )
        assert r.status_code == 200, r.text
        assert r.json()["user"]["email"] == "admin@helpline.local"
        bad = await client.post("/api/v1/auth/login", json={"email": "x", "password": password})
        assert bad.status_code == 422
        assert bad.json()["type"] == "/problems/validation-error"


class TestPrecompressedAssets:
    @pytest.fixture
    def compressed(self, dist: Path) -> Path:
        import gzip

        script = dist / "assets" / "index-abc123.js"
        body = ("console.log('app');" * 200).encode()
        script.write_bytes(body)
        (dist / "assets" / "index-abc123.js.gz").write_bytes(gzip.compress(body))
        (dist / "assets" / "index-abc123.js.br").write_bytes(b"brotli-bytes")
        return script

    async def test_brotli_then_gzip_then_identity(self, web, compressed):
        async with web.stream(
            "GET", "/assets/index-abc123.js", headers={"Accept-Encoding": "gzip, br"}
        ) as br:
            raw = b"".join([chunk async for chunk in br.aiter_raw()])
        assert br.status_code == 200
        assert br.headers["content-encoding"] == "br"
        assert br.headers["vary"] == "Accept-Encoding"
        assert br.headers["content-type"].startswith("text/javascript")
        assert br.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert raw == b"brotli-bytes"  # the stored file, as it is
        gz = await web.get("/assets/index-abc123.js", headers={"Accept-Encoding": "gzip"})
        assert gz.headers["content-encoding"] == "gzip"
        assert int(gz.headers["content-length"]) < len(compressed.read_bytes()) // 10
        assert gz.content == compressed.read_bytes()  # httpx decoded the gzip
        plain = await web.get("/assets/index-abc123.js", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.headers["vary"] == "Accept-Encoding"
        assert plain.content == compressed.read_bytes()

    async def test_a_refused_coding_is_not_sent(self, web, compressed):
        r = await web.get("/assets/index-abc123.js", headers={"Accept-Encoding": "br;q=0, *"})
        assert r.headers["content-encoding"] == "gzip"

    async def test_compressed_files_are_not_served_by_their_own_name_differently(
        self, web, compressed
    ):
        r = await web.get("/assets/index-abc123.js.gz", headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200
        assert "content-encoding" not in r.headers  # the .gz file itself, as bytes


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip, deflate, br, zstd", {"gzip", "deflate", "br", "zstd"}),
        ("gzip;q=0.5, br;q=0", {"gzip"}),
        ("*", {"gzip", "br", "*"}),
        ("*;q=0", set()),
        ("identity", {"identity"}),
        ("", set()),
        ("GZIP ; q=1.0", {"gzip"}),
        ("br;q=abc", set()),
    ],
)
def test_accepted_encodings(header, expected):
    from helpline.server.spa import accepted_encodings

    assert accepted_encodings(header) == expected
