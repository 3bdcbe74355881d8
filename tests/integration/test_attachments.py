"""Attachments through the REST API: upload, limits, download, ranges, binding, gc, S3."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from helpline.attachment.content import detect_content_type, sanitize_filename
from helpline.attachment.gc import collect_garbage
from helpline.attachment.storage import LocalStorage, S3Storage
from helpline.models import Attachment
from tests.fixtures import attachments as fixtures
from tests.fixtures.actors import Cast
from tests.fixtures.attachments import (
    API,
    MAX_BYTES,
    blob_files,
    new_ticket,
    png,
    post_message,
    sha256,
    spool_files,
    upload,
)

app = fixtures.app
attachment_settings = fixtures.attachment_settings
attachments_root = fixtures.attachments_root

pytestmark = pytest.mark.integration


def all_files(root: Path) -> set[Path]:
    return set(root.rglob("*"))


async def attachment_count(session) -> int:
    return (await session.execute(select(func.count()).select_from(Attachment))).scalar_one()


class TestUpload:
    async def test_round_trip_is_byte_for_byte(self, client, cast: Cast, attachments_root: Path):
        content = png(200_000)
        r = await upload(client, cast.alice.headers, content)
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["filename"] == "screenshot.png"
        assert body["content_type"] == "image/png"
        assert body["size"] == len(content)
        assert body["sha256"] == sha256(content)
        assert body["message_id"] is None
        assert r.headers["location"] == f"{API}/{body['id']}"
        got = await client.get(f"{API}/{body['id']}/content", headers=cast.alice.headers)
        assert got.status_code == 200
        assert got.content == content
        assert hashlib.sha256(got.content).hexdigest() == body["sha256"]
        assert got.headers["content-type"] == "image/png"
        assert got.headers["content-length"] == str(len(content))
        assert got.headers["etag"] == f'"{body["sha256"]}"'
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-security-policy"] == "default-src 'none'; sandbox"
        assert got.headers["content-disposition"].startswith(
            'attachment; filename="screenshot.png"'
        )
        assert [p.name for p in blob_files(attachments_root)] == [body["sha256"]]
        assert spool_files(attachments_root) == []

    async def test_streamed_body_without_content_length(self, client, cast: Cast):
        content = png(150_000)
        boundary = "helpline-boundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()

        async def body() -> AsyncIterator[bytes]:
            yield head
            for i in range(0, len(content), 7_000):  # odd chunk sizes cross every boundary
                yield content[i : i + 7_000]
            yield f"\r\n--{boundary}--\r\n".encode()

        r = await client.post(
            API,
            content=body(),
            headers={
                **cast.alice.headers,
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["sha256"] == sha256(content)
        assert r.json()["size"] == len(content)

    @pytest.mark.parametrize("streamed", [False, True])
    async def test_oversize_is_413_and_nothing_stored(
        self, client, cast: Cast, session, attachments_root: Path, streamed: bool
    ):
        content = png(MAX_BYTES + 70_000)
        if streamed:  # no Content-Length: the limit is enforced while streaming
            boundary = "b0undary"
            parts = [
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="big.png"\r\n\r\n'.encode(),
                content,
                f"\r\n--{boundary}--\r\n".encode(),
            ]

            async def body() -> AsyncIterator[bytes]:
                for part in parts:
                    for i in range(0, len(part), 65_536):
                        yield part[i : i + 65_536]

            r = await client.post(
                API,
                content=body(),
                headers={
                    **cast.alice.headers,
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                },
            )
        else:
            r = await upload(client, cast.alice.headers, content)
        assert r.status_code == 413
        assert r.json()["type"] == "/problems/attachment-too-large"
        assert await attachment_count(session) == 0
        assert blob_files(attachments_root) == []
        assert spool_files(attachments_root) == []

    async def test_file_at_the_limit_is_accepted(self, client, cast: Cast):
        r = await upload(client, cast.alice.headers, png(MAX_BYTES))
        assert r.status_code == 201
        assert r.json()["size"] == MAX_BYTES

    async def test_html_renamed_png_is_415(self, client, cast: Cast, session, attachments_root):
        html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
        r = await upload(client, cast.alice.headers, html, "cat.png", "image/png")
        assert r.status_code == 415
        assert r.json()["type"] == "/problems/unsupported-attachment-type"
        assert r.json()["detected_type"] == "text/html"
        svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script/></svg>'
        r = await upload(client, cast.alice.headers, svg, "logo.png", "image/png")
        assert r.status_code == 415
        assert r.json()["detected_type"] == "image/svg+xml"
        assert await attachment_count(session) == 0
        assert blob_files(attachments_root) == []
        assert spool_files(attachments_root) == []

    async def test_client_content_type_is_ignored(self, client, cast: Cast):
        r = await upload(client, cast.alice.headers, b"2026-11-20 ERROR boom\n", "log.exe", "x/y")
        assert r.status_code == 201
        assert r.json()["content_type"] == "text/plain"

    async def test_path_traversal_filename_is_stored_safely(
        self, client, cast: Cast, attachments_root: Path, tmp_path: Path
    ):
        before = all_files(tmp_path)
        r = await upload(client, cast.alice.headers, b"root:x:0:0\n", "../../../etc/passwd")
        assert r.status_code == 201
        assert r.json()["filename"] == "passwd"
        r2 = await upload(client, cast.alice.headers, b"x\n", "..\\..\\Windows\\win.ini")
        assert r2.json()["filename"] == "win.ini"
        r3 = await upload(client, cast.alice.headers, b"y\n", "..")
        assert r3.json()["filename"] == "attachment"
        new = all_files(tmp_path) - before
        assert all(attachments_root in p.parents or p == attachments_root for p in new)
        got = await client.get(f"{API}/{r.json()['id']}/content", headers=cast.alice.headers)
        assert got.headers["content-disposition"] == (
            "attachment; filename=\"passwd\"; filename*=UTF-8''passwd"
        )

    async def test_unicode_and_control_characters_in_filename(self, client, cast: Cast):
        name = 'r\u00e9sum\u00e9\u202egpj.txt"; x=\r\n' + "a" * 300 + ".txt"
        r = await upload(client, cast.alice.headers, b"cv\n", name)
        stored = r.json()["filename"]
        assert "\u202e" not in stored
        assert "\r" not in stored
        assert "\n" not in stored
        assert len(stored) <= 200
        assert stored.endswith(".txt")
        assert stored.startswith("r\u00e9sum")
        got = await client.get(f"{API}/{r.json()['id']}/content", headers=cast.alice.headers)
        disposition = got.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="')
        assert "\r" not in disposition
        assert f"filename*=UTF-8''{quote(stored, safe='')}" in disposition

    async def test_empty_file_is_422(self, client, cast: Cast, session):
        r = await upload(client, cast.alice.headers, b"")
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "file"]
        assert await attachment_count(session) == 0

    async def test_missing_file_field_and_wrong_content_type(self, client, cast: Cast):
        r = await client.post(API, files={"other": ("a.txt", b"x")}, headers=cast.alice.headers)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "file"]
        r = await client.post(API, json={"file": "x"}, headers=cast.alice.headers)
        assert r.status_code == 415

    async def test_identical_uploads_share_one_blob(
        self, client, cast: Cast, attachments_root: Path
    ):
        content = png(50_000)
        a = await upload(client, cast.alice.headers, content, "a.png")
        b = await upload(client, cast.bob.headers, content, "b.png")
        assert a.status_code == b.status_code == 201
        assert a.json()["id"] != b.json()["id"]
        assert [p.name for p in blob_files(attachments_root)] == [sha256(content)]
        got = await client.get(f"{API}/{b.json()['id']}/content", headers=cast.bob.headers)
        assert got.content == content
        assert "b.png" in got.headers["content-disposition"]


class TestDownload:
    @pytest.fixture
    async def stored(self, client, cast: Cast) -> tuple[str, bytes]:
        content = os.urandom(5_000)
        content = b"%PDF-1.7\n" + content[9:]
        r = await upload(client, cast.alice.headers, content, "doc.pdf")
        assert r.status_code == 201
        assert r.json()["content_type"] == "application/pdf"
        return r.json()["id"], content

    @pytest.mark.parametrize(
        ("spec", "start", "end"),
        [("bytes=0-9", 0, 9), ("bytes=100-", 100, 4999), ("bytes=-500", 4500, 4999),
         ("bytes=4990-9999", 4990, 4999)],
    )  # fmt: skip
    async def test_range_requests(self, client, cast: Cast, stored, spec, start, end):
        ident, content = stored
        r = await client.get(
            f"{API}/{ident}/content", headers={**cast.alice.headers, "Range": spec}
        )
        assert r.status_code == 206
        assert r.content == content[start : end + 1]
        assert r.headers["content-range"] == f"bytes {start}-{end}/{len(content)}"
        assert r.headers["content-length"] == str(end - start + 1)

    async def test_unsatisfiable_range_is_416(self, client, cast: Cast, stored):
        ident, content = stored
        for spec in (f"bytes={len(content)}-", "bytes=-0"):
            r = await client.get(
                f"{API}/{ident}/content", headers={**cast.alice.headers, "Range": spec}
            )
            assert r.status_code == 416
            assert r.headers["content-range"] == f"bytes */{len(content)}"

    async def test_ignored_ranges_serve_the_whole_file(self, client, cast: Cast, stored):
        ident, content = stored
        for spec in ("bytes=0-1,5-6", "items=0-1", "bytes=9-2", "bytes=x-"):
            r = await client.get(
                f"{API}/{ident}/content", headers={**cast.alice.headers, "Range": spec}
            )
            assert r.status_code == 200
            assert r.content == content

    async def test_etag_if_none_match_and_if_range(self, client, cast: Cast, stored):
        ident, content = stored
        etag = f'"{sha256(content)}"'
        r = await client.get(
            f"{API}/{ident}/content", headers={**cast.alice.headers, "If-None-Match": etag}
        )
        assert r.status_code == 304
        assert r.headers["etag"] == etag
        assert r.content == b""
        stale = {**cast.alice.headers, "Range": "bytes=0-9", "If-Range": '"old"'}
        assert (await client.get(f"{API}/{ident}/content", headers=stale)).status_code == 200
        fresh = {**cast.alice.headers, "Range": "bytes=0-9", "If-Range": etag}
        assert (await client.get(f"{API}/{ident}/content", headers=fresh)).status_code == 206
        d = await client.get(f"{API}/{ident}", headers=cast.alice.headers)
        assert d.status_code == 200
        assert d.json()["sha256"] == sha256(content)
        again = await client.get(
            f"{API}/{ident}", headers={**cast.alice.headers, "If-None-Match": d.headers["etag"]}
        )
        assert again.status_code == 304

    async def test_head_gives_the_headers_of_get_without_the_body(self, client, cast: Cast, stored):
        attachment_id, content = stored
        url = f"{API}/{attachment_id}/content"
        got = await client.get(url, headers=cast.alice.headers)
        head = await client.head(url, headers=cast.alice.headers)
        assert head.status_code == 200, head.text
        assert head.content == b""
        for name in (
            "content-type",
            "content-length",
            "etag",
            "content-disposition",
            "x-content-type-options",
            "content-security-policy",
        ):
            assert head.headers[name] == got.headers[name], name
        assert head.headers["content-length"] == str(len(content))
        cached = await client.head(
            url, headers={**cast.alice.headers, "If-None-Match": got.headers["etag"]}
        )
        assert cached.status_code == 304
        hidden = await client.head(url, headers=cast.bob.headers)  # another customer's upload
        assert hidden.status_code == 404

    async def test_unknown_attachment_is_404(self, client, cast: Cast):
        r = await client.get(
            f"{API}/0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b10", headers=cast.agent.headers
        )
        assert r.status_code == 404
        assert r.json()["type"] == "/problems/attachment-not-found"


class TestBinding:
    async def test_message_binds_uploads_and_lists_descriptors(self, client, cast: Cast):
        tid = await new_ticket(client, cast.alice.headers)
        a = (await upload(client, cast.alice.headers, png(1_000), "a.png")).json()
        b = (await upload(client, cast.alice.headers, b"log line\n", "b.log")).json()
        r = await post_message(client, cast.alice.headers, tid, [b["id"], a["id"]])
        assert r.status_code == 201, r.text
        assert r.json()["attachments"] == [
            {k: x[k] for k in ("id", "filename", "content_type", "size", "sha256")} for x in (b, a)
        ]
        listing = await client.get(
            f"/api/v1/tickets/{tid}/conversations", headers=cast.agent.headers
        )
        assert listing.json()["data"][0]["attachments"] == r.json()["attachments"]
        d = await client.get(f"{API}/{a['id']}", headers=cast.agent.headers)
        assert d.status_code == 200
        assert d.json()["message_id"] == r.json()["id"]

    async def test_already_bound_upload_cannot_be_bound_again(self, client, cast: Cast):
        tid = await new_ticket(client, cast.alice.headers)
        a = (await upload(client, cast.alice.headers, png(1_000))).json()
        assert (await post_message(client, cast.alice.headers, tid, [a["id"]])).status_code == 201
        r = await post_message(client, cast.alice.headers, tid, [a["id"]])
        assert r.status_code == 422
        assert r.json()["type"] == "/problems/attachment-not-bindable"
        assert r.json()["errors"][0]["loc"] == ["body", "attachment_ids", 0]

    async def test_limits_on_attachment_ids(self, client, cast: Cast):
        tid = await new_ticket(client, cast.alice.headers)
        a = (await upload(client, cast.alice.headers, png(1_000))).json()
        dup = await post_message(client, cast.alice.headers, tid, [a["id"], a["id"]])
        assert dup.status_code == 422
        assert dup.json()["errors"][0]["type"] == "duplicate"
        many = await post_message(client, cast.alice.headers, tid, [a["id"]] * 11)
        assert many.status_code == 422
        assert many.json()["errors"][0]["loc"][:2] == [
            "body",
            "attachment_ids",
        ]
        unknown = await post_message(
            client, cast.alice.headers, tid, ["0195f2a4-6b1e-7c3a-9d41-2f7c1e9a5b10"]
        )
        assert unknown.status_code == 422
        listing = await client.get(
            f"/api/v1/tickets/{tid}/conversations", headers=cast.alice.headers
        )
        assert listing.json()["data"] == []  # the failed messages rolled back whole


class TestGarbageCollection:
    async def test_gc_removes_old_unbound_uploads_and_keeps_bound_ones(
        self, client, app, db, session, cast: Cast, clock, attachments_root: Path
    ):
        tid = await new_ticket(client, cast.alice.headers)
        bound_bytes, unbound_bytes, shared = png(2_000), png(3_000), png(4_000)
        bound = (await upload(client, cast.alice.headers, bound_bytes)).json()
        unbound = (await upload(client, cast.alice.headers, unbound_bytes)).json()
        # Same content as a bound upload: its row goes, the shared blob stays.
        shared_unbound = (await upload(client, cast.bob.headers, shared)).json()
        shared_bound = (await upload(client, cast.alice.headers, shared)).json()
        ids = [bound["id"], shared_bound["id"]]
        assert (await post_message(client, cast.alice.headers, tid, ids)).status_code == 201
        storage = LocalStorage(attachments_root)

        early = await collect_garbage(db, storage, clock() + timedelta(hours=23))
        assert early.uploads_deleted == 0
        assert early.blobs_deleted == 0

        report = await collect_garbage(db, storage, clock() + timedelta(hours=25))
        assert report.uploads_deleted == 2
        assert report.blobs_deleted == 1
        remaining = set((await session.execute(select(Attachment.id))).scalars().all())
        assert {str(i) for i in remaining} == {bound["id"], shared_bound["id"]}
        assert {p.name for p in blob_files(attachments_root)} == {
            sha256(bound_bytes),
            sha256(shared),
        }
        got = await client.get(f"{API}/{bound['id']}/content", headers=cast.alice.headers)
        assert got.content == bound_bytes
        gone = await client.get(f"{API}/{unbound['id']}", headers=cast.alice.headers)
        assert gone.status_code == 404
        assert shared_unbound["id"] not in {str(i) for i in remaining}

        again = await collect_garbage(db, storage, clock() + timedelta(hours=25))
        assert again == type(again)(0, 0, 0)  # idempotent: safe on a schedule

    async def test_gc_removes_abandoned_spool_files_and_orphan_blobs(
        self, db, clock, attachments_root: Path
    ):
        storage = LocalStorage(attachments_root)
        orphan = attachments_root / "ab" / "cd" / ("abcd" + "0" * 60)
        orphan.parent.mkdir(parents=True)
        orphan.write_bytes(b"x")
        storage.spool_dir.mkdir(parents=True)
        (storage.spool_dir / "upload-dead.part").write_bytes(b"partial")
        young = await collect_garbage(db, storage, clock())
        assert young.blobs_deleted == 0
        assert young.spool_files_deleted == 0
        report = await collect_garbage(db, storage, clock() + timedelta(hours=2))
        assert report.blobs_deleted == 1
        assert report.spool_files_deleted == 1
        assert not orphan.exists()
        assert spool_files(attachments_root) == []


class TestContentDetection:
    @pytest.mark.parametrize(
        ("head", "expected"),
        [(b"\x89PNG\r\n\x1a\n....", "image/png"), (b"\xff\xd8\xff\xe0", "image/jpeg"),
         (b"GIF89a", "image/gif"), (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
         (b"%PDF-1.4", "application/pdf"), (b"PK\x03\x04", "application/zip"),
         (b"\x1f\x8b\x08\x00", "application/gzip"), (b"plain text\n", "text/plain"),
         ("caf\u00e9".encode(), "text/plain"), (b"  \n<html><body>", "text/html"),
         (b"\xef\xbb\xbf<!doctype HTML>", "text/html"), (b"<svg onload=alert(1)>", "image/svg+xml"),
         (b"<?xml version='1.0'?><note/>", "application/xml"), (b"<!-- x -->", "text/html"),
         (b"\x00\x01\x02binary", "application/octet-stream"),
         (b"MZ\x90\x00", "application/vnd.microsoft.portable-executable")],
    )  # fmt: skip
    def test_detects_type_from_bytes(self, head: bytes, expected: str):
        assert detect_content_type(head) == expected

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [("../../etc/passwd", "passwd"), ("C:\\x\\y.txt", "y.txt"), ("", "attachment"),
         (None, "attachment"), ("...", "attachment"), (".bashrc", "bashrc"),
         ("a\x00b\x1fc.txt", "abc.txt"), ("  spaced   name .txt ", "spaced name.txt"),
         ("x" * 300, "x" * 200)],
    )  # fmt: skip
    def test_sanitizes_filenames(self, raw, expected):
        assert sanitize_filename(raw) == expected

    def test_long_names_keep_their_extension_within_255_bytes(self):
        name = sanitize_filename("\u00e9" * 250 + ".png")
        assert name.endswith(".png")
        assert len(name.encode()) <= 255
        assert len(name) <= 200


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible server in a thread on a free local port (no network)."""
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_storage(s3_endpoint: str, tmp_path: Path) -> S3Storage:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    bucket = f"helpline-{os.urandom(4).hex()}"
    client.create_bucket(Bucket=bucket)
    return S3Storage(client, bucket, "attachments/", tmp_path / "spool")


class TestS3Storage:
    async def test_backend_round_trip(self, s3_storage: S3Storage):
        content = os.urandom(300_000)
        key = sha256(content)
        s3_storage.spool_dir.mkdir(parents=True)
        source = s3_storage.spool_dir / "upload-1.part"
        source.write_bytes(content)
        assert not await s3_storage.exists(key)
        await s3_storage.store(source, key)
        assert not source.exists()
        assert await s3_storage.exists(key)
        assert b"".join([c async for c in s3_storage.read(key)]) == content
        assert b"".join([c async for c in s3_storage.read(key, 10, 19)]) == content[10:20]
        assert [b.key async for b in s3_storage.blobs()] == [key]
        await s3_storage.delete(key)
        assert not await s3_storage.exists(key)
        with pytest.raises(ValueError, match="SHA-256"):
            s3_storage.object_key("../escape")

    async def test_api_upload_and_download_through_s3(self, app, client, cast: Cast, s3_storage):
        app.state.services.attachment_storage = s3_storage
        content = png(120_000)
        r = await upload(client, cast.alice.headers, content)
        assert r.status_code == 201, r.text
        assert await s3_storage.exists(sha256(content))
        got = await client.get(f"{API}/{r.json()['id']}/content", headers=cast.alice.headers)
        assert got.content == content
        part = await client.get(
            f"{API}/{r.json()['id']}/content", headers={**cast.alice.headers, "Range": "bytes=-100"}
        )
        assert part.status_code == 206
        assert part.content == content[-100:]
