"""What a file is and what it may be called: type detection from the bytes, safe filenames.

Type detection is a small signature table rather than a library: we accept a handful of types,
and what matters most is recognising markup (HTML, SVG, XML) reliably so that it is refused.
The markup rules follow the WHATWG MIME Sniffing standard's "HTML" patterns.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

SNIFF_BYTES = 4096
MAX_FILENAME_CHARS = 200
MAX_FILENAME_BYTES = 255
FALLBACK_FILENAME = "attachment"

# (offset, signature, content type); first match wins.
SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"PK\x05\x06", "application/zip"),
    (0, b"PK\x07\x08", "application/zip"),
    (0, b"\x1f\x8b\x08", "application/gzip"),
    (0, b"BM", "image/bmp"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"\x00\x00\x01\x00", "image/vnd.microsoft.icon"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"Rar!\x1a\x07", "application/vnd.rar"),
    (0, b"\x7fELF", "application/x-executable"),
    (0, b"MZ", "application/vnd.microsoft.portable-executable"),
)

# WHATWG "HTML" tags: the tag name must be followed by a space or '>'.
HTML_TAGS = (
    b"<!DOCTYPE HTML", b"<HTML", b"<HEAD", b"<SCRIPT", b"<IFRAME", b"<H1", b"<DIV", b"<FONT",
    b"<TABLE", b"<A", b"<STYLE", b"<TITLE", b"<B", b"<BODY", b"<BR", b"<P", b"<!--",
)  # fmt: skip
BINARY_BYTES = frozenset([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])


def detect_content_type(head: bytes) -> str:
    """The content type of a file from its first bytes (at least ``SNIFF_BYTES`` if it has them)."""
    if head[8:12] == b"WEBP" and head[:4] == b"RIFF":
        return "image/webp"
    for offset, signature, content_type in SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return content_type
    markup = _markup_type(head)
    if markup is not None:
        return markup
    if head.startswith((b"\xfe\xff", b"\xff\xfe")):
        return "text/plain"  # UTF-16 text with a byte-order mark
    if _is_text(head):
        return "text/plain"
    return "application/octet-stream"


def _markup_type(head: bytes) -> str | None:
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\n\x0c\r").upper()
    for tag in HTML_TAGS:
        if text.startswith(tag) and text[len(tag) : len(tag) + 1] in (b" ", b">"):
            return "text/html"
    if text.startswith(b"<?XML"):
        return "image/svg+xml" if b"<SVG" in text else "application/xml"
    if text.startswith(b"<SVG"):
        return "image/svg+xml"
    return None


def _is_text(head: bytes) -> bool:
    if any(b in BINARY_BYTES for b in head):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sniff window is still text.
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


def sanitize_filename(raw: str | None) -> str:
    """A display name without path components, control or format characters, or excess length."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Cc: controls (incl. NUL, CR, LF); Cf: format chars such as U+202E, which fakes extensions.
    name = "".join(
        ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn"}
    )
    name = " ".join(name.split())
    name = name.strip(" .")  # no hidden files, no '.'/'..', no trailing dots (Windows)
    if not name:
        return FALLBACK_FILENAME
    return _truncate(name)


def _truncate(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 16:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    while len(stem + suffix) > MAX_FILENAME_CHARS or len((stem + suffix).encode()) > (
        MAX_FILENAME_BYTES
    ):
        stem = stem[:-1]
    return (stem.rstrip(" .") or FALLBACK_FILENAME) + suffix


def _ascii_fallback(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    safe = "".join(ch if ch.isalnum() or ch in "._-() " else "_" for ch in ascii_name).strip()
    return safe or FALLBACK_FILENAME


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the exact name as RFC 6266/5987 `filename*`."""
    return (
        f'attachment; filename="{_ascii_fallback(filename)}"; '
        f"filename*=UTF-8''{quote(filename, safe='')}"
    )
