"""Decoding bytes whose declared charset may be wrong, unknown or missing — never raising.

Order: the declared charset (through a table of the supersets mail clients really use), then
UTF-8, then windows-1252 with replacement characters. Two common lies are caught before trusting
the declaration: text labelled as a single-byte Latin charset (or US-ASCII) that is valid
multi-byte UTF-8 is UTF-8, and ISO-2022-JP carrying Microsoft's NEC/IBM extensions (CP50220/1,
what Outlook sends as "ISO-2022-JP") is decoded through Shift_JIS (cp932). Text comes out in
Unicode NFC, so windows-1258's combining tone marks become the precomposed Vietnamese letters.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

# Labels mail really carries → the codec that decodes what senders actually put under them
# (the superset that the label's vendors emit, as WHATWG's encoding table does for the web).
_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "big5": "big5hkscs",
    "iso-8859-8-i": "iso-8859-8",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "_iso-2022-jp$esc": "iso-2022-jp",
    "csiso2022jp": "iso-2022-jp",
}
_SINGLE_BYTE_LATIN = {"cp1252", "latin_1", "ascii", "iso8859_15", "cp1254"}
_ISO2022JP = {"iso2022_jp", "iso2022_jp_1", "iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_3"}


def codec_name(label: str | None) -> str | None:
    """The Python text codec for a MIME charset label, or None when unknown or not text."""
    if not label:
        return None
    key = label.strip().strip("\"'").lower()
    key = _ALIASES.get(key, key)
    try:
        info = codecs.lookup(key)
    except (LookupError, ValueError):
        return None
    # bytes↔bytes codecs (base64, zlib, rot13, …) and "undefined" must never be used on mail text.
    if not getattr(info, "_is_text_encoding", True) or info.name in {"undefined", "idna"}:
        return None
    return info.name


def decode(data: bytes, label: str | None = None) -> str:
    """Best-effort text for ``data`` labelled ``label``: never raises, NFC-normalized."""
    return unicodedata.normalize("NFC", _decode(data, codec_name(label)))


def _decode(data: bytes, codec: str | None) -> str:
    if codec in _SINGLE_BYTE_LATIN and _is_multibyte_utf8(data):
        return data.decode("utf-8")
    if codec in _ISO2022JP:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            return _decode_iso2022jp_microsoft(data)
    if codec is not None:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return data.decode("cp1252", errors="replace")


def _is_multibyte_utf8(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_ESCAPE = re.compile(rb"\x1b(\$@|\$B|\$\(D|\(B|\(J|\(I)")


def _decode_iso2022jp_microsoft(data: bytes) -> str:
    """ISO-2022-JP with the NEC row 13 and IBM extensions (CP50220/50221), via Shift_JIS.

    Python's ISO-2022-JP codecs reject those rows (①, ㈱, 髙 …), which Outlook and many Japanese
    mailers send; converting each JIS X 0208 pair to its Shift_JIS code lets cp932 decode them.
    """
    out = bytearray()
    mode = b"(B"
    position = 0
    for match in _ESCAPE.finditer(data):
        out += _jis_run_to_sjis(data[position : match.start()], mode)
        mode = match.group(1)
        position = match.end()
    out += _jis_run_to_sjis(data[position:], mode)
    return out.decode("cp932", errors="replace")


def _jis_run_to_sjis(run: bytes, mode: bytes) -> bytes:
    if mode in (b"(B", b"(J"):
        return run
    if mode == b"(I":  # JIS X 0201 half-width katakana: GL bytes → Shift_JIS single bytes
        return bytes(b + 0x80 if 0x21 <= b <= 0x5F else b for b in run)
    out = bytearray()
    i = 0
    while i < len(run):
        j1 = run[i]
        if j1 in (0x0A, 0x0D) or i + 1 >= len(run):
            out.append(j1)
            i += 1
            continue
        j2 = run[i + 1]
        i += 2
        if not (0x21 <= j1 <= 0x7E and 0x21 <= j2 <= 0x7E):
            out += b"?"
            continue
        s1 = (j1 + 1) // 2 + (0x70 if j1 <= 0x5E else 0xB0)
        s2 = j2 + (31 if j2 <= 95 else 32) if j1 % 2 else j2 + 126
        out += bytes((s1, s2))
    return bytes(out)


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")


def decode_header_text(value: str) -> str:
    """An unstructured header value with RFC 2047 encoded-words decoded through ``decode``.

    Raw 8-bit bytes (which the parser hands over as surrogate escapes) are decoded too, so a
    header written in UTF-8 or windows-1252 without encoding comes out readable.
    """
    value = fix_surrogates(value)
    value = _BETWEEN_WORDS.sub(r"\1\2", value)  # whitespace between encoded-words is not text
    parts: list[str] = []
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        parts.append(value[position : match.start()])
        parts.append(_decode_word(match) or match.group(0))
        position = match.end()
    parts.append(value[position:])
    text = "".join(parts)
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _decode_word(match: re.Match[str]) -> str | None:
    label, kind, payload = match.groups()
    label = label.split("*", 1)[0]  # RFC 2231 language suffix: =?utf-8*en?Q?…?=
    try:
        if kind in "bB":
            raw = codecs.decode((payload + "=" * (-len(payload) % 4)).encode("ascii"), "base64")
        else:
            raw = _q_decode(payload)
    except (ValueError, UnicodeEncodeError):
        return None
    return decode(raw, label)


def _q_decode(payload: str) -> bytes:
    out = bytearray()
    data = payload.encode("ascii")
    i = 0
    while i < len(data):
        c = data[i]
        if c == 0x5F:  # "_" is a space in Q encoding
            out.append(0x20)
        elif c == 0x3D and _is_hex(data[i + 1 : i + 3]):
            out.append(int(data[i + 1 : i + 3], 16))
            i += 2
        else:
            out.append(c)
        i += 1
    return bytes(out)


def _is_hex(pair: bytes) -> bool:
    return len(pair) == 2 and all(c in b"0123456789abcdefABCDEF" for c in pair)


def fix_surrogates(value: str) -> str:
    """Undo the parser's surrogate escapes: the raw bytes, decoded as UTF-8 or windows-1252."""
    if not _SURROGATE.search(value):
        return value
    try:
        raw = value.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:  # a surrogate no byte could have produced
        return _SURROGATE.sub("\ufffd", value)
    return decode(raw)


_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` without what PostgreSQL and UTF-8 writers refuse: NUL and lone surrogates."""
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)
