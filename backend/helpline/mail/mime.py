"""The MIME tree of a parsed message: which parts are the body (text, HTML) and which are
attachments, each part decoded through the charset fallbacks. Used by ``message.parse_message``."""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from email import policy
from email.message import Message
from html import escape as escape_html
from weakref import WeakKeyDictionary

from helpline.mail import charsets
from helpline.mail.html import crude_text, sanitize_html, too_hostile

MAX_DEPTH = 24  # MIME nesting followed; deeper parts are skipped (defect "nesting_too_deep")
MAX_PARTS = 2000  # leaves visited in one message
_OUT_POLICY = policy.default.clone(refold_source="none", linesep="\r\n")


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None  # without <>
    inline: bool

    @property
    def size(self) -> int:
        return len(self.data)


class Body:
    """Collects the body text, HTML and attachments while walking the MIME tree."""

    def __init__(self, defects: list[str]) -> None:
        self.defects = defects
        self.text_parts: list[str] = []
        self.html_parts: list[str] = []  # sanitized
        self.html_sources: list[str] = []  # sanitized (or made safe), for the derived text
        self.attachments: list[ParsedAttachment] = []
        self.parts_seen = 0

    def defect(self, name: str) -> None:
        if name not in self.defects:
            self.defects.append(name)

    def walk(
        self, part: Message, depth: int, *, related_root: bool, resource: bool = False
    ) -> None:
        self.parts_seen += 1
        if self.parts_seen > MAX_PARTS:
            self.defect("too_many_parts")
            return
        if depth > MAX_DEPTH:
            self.defect("nesting_too_deep")
            return
        ctype = _content_type(part)
        if ctype.startswith("multipart/") and part.is_multipart():
            children = [p for p in part.get_payload() if isinstance(p, Message)]
            if ctype == "multipart/alternative":
                self._alternative(children, depth)
            elif ctype == "multipart/related" and children:
                root = _related_root(part, children)
                for child in children:
                    self.walk(child, depth + 1, related_root=True, resource=child is not root)
            else:
                for child in children:
                    self.walk(child, depth + 1, related_root=True, resource=resource)
            return
        self._leaf(part, ctype, resource=resource)

    def _alternative(self, children: list[Message], depth: int) -> None:
        branches = []
        for child in children:
            branch = Body(self.defects)
            branch.parts_seen = self.parts_seen
            branch.walk(child, depth + 1, related_root=True)
            self.parts_seen = branch.parts_seen
            branches.append(branch)
        with_text = [b for b in branches if any(t.strip() for t in b.text_parts)]
        with_html = [b for b in branches if b.html_sources]
        if with_text:
            self.text_parts.extend(with_text[-1].text_parts)
        if with_html:
            self.html_parts.extend(with_html[-1].html_parts)
            self.html_sources.extend(with_html[-1].html_sources)
        for branch in branches:
            self.attachments.extend(branch.attachments)

    def _leaf(self, part: Message, ctype: str, *, resource: bool) -> None:
        disposition = _disposition(part)
        filename = _filename(part)
        content_id = _content_id(part)
        is_body_type = ctype in {"text/plain", "text/html"} or (
            ctype.startswith("multipart/")  # a multipart without a usable boundary
        )
        if is_body_type and not resource and disposition != "attachment" and not filename:
            data = _payload(part)
            if ctype == "text/html":
                source = part_text(part, data)
                hostile = too_hostile(source)
                if hostile:
                    self.defect(hostile)
                    self.html_sources.append(escape_html(crude_text(source)).replace("\n", "<br>"))
                else:
                    self.html_parts.append(sanitize_html(source))
                    self.html_sources.append(self.html_parts[-1])
            else:
                self.text_parts.append(part_text(part, data))
            return
        data = _payload(part)
        self.attachments.append(
            ParsedAttachment(
                filename=filename or _default_filename(part, ctype, len(self.attachments) + 1),
                content_type=ctype,
                data=data,
                content_id=content_id,
                inline=disposition == "inline" or (disposition is None and content_id is not None),
            )
        )


def _related_root(part: Message, children: list[Message]) -> Message:
    start = _param(part, "start")
    if start:
        wanted = start.strip().strip("<>")
        for child in children:
            if _content_id(child) == wanted:
                return child
    return children[0]


@dataclass(frozen=True)
class _PartInfo:
    ctype: str
    params: dict[str, str]
    disposition: str | None
    disposition_params: dict[str, str]


# Each part's Content-Type/-Disposition parsed once: the policy's header objects are rebuilt on
# every access, and they were most of the parse time.
_INFO: WeakKeyDictionary[Message, _PartInfo] = WeakKeyDictionary()


def _info(part: Message) -> _PartInfo:
    cached = _INFO.get(part)
    if cached is None:
        ctype, params = _parameterized(part, "content-type")
        disposition, disposition_params = _parameterized(part, "content-disposition")
        if ctype is None:
            ctype = part.get_default_type()
        elif ctype.count("/") != 1 or ctype.startswith("/") or ctype.endswith("/"):
            ctype = "text/plain"  # RFC 2045 §5.2: an invalid type is text/plain
        cached = _PartInfo(ctype, params, disposition, disposition_params)
        _INFO[part] = cached
    return cached


def _parameterized(part: Message, name: str) -> tuple[str | None, dict[str, str]]:
    try:
        header = part.get(name)
        if header is None:
            return None, {}
        value = str(
            getattr(header, "content_type", None)
            or getattr(header, "content_disposition", None)
            or ""
        )
        params = {
            str(k).lower(): charsets.fix_surrogates(str(v))
            for k, v in (getattr(header, "params", None) or {}).items()
        }
    except Exception:  # a header the library cannot parse: as if absent
        return None, {}
    return (value.strip().lower() or None), params


def _content_type(part: Message) -> str:
    return _info(part).ctype


def _param(part: Message, name: str, header: str = "content-type") -> str | None:
    info = _info(part)
    params = info.params if header == "content-type" else info.disposition_params
    return params.get(name)


def _disposition(part: Message) -> str | None:
    return _info(part).disposition


_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')


def _filename(part: Message) -> str | None:
    name = _param(part, "filename", "content-disposition") or _param(part, "name")
    if not name:
        return None
    name = charsets.storable(charsets.decode_header_text(name))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_FILENAME.sub("_", name).strip(" .")
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 250 - len(ext)] + dot + ext) if dot and len(ext) < 10 else name[:255]
    return name or None


def _default_filename(part: Message, ctype: str, number: int) -> str:
    if ctype == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            subject = charsets.decode_header_text(str(inner[0].get("Subject", "") or ""))
            subject = _UNSAFE_FILENAME.sub("_", subject.replace("/", "_")).strip(" .")[:100]
            if subject:
                return f"{subject}.eml"
        return f"message-{number}.eml"
    extension = {"message/delivery-status": ".txt", "text/rfc822-headers": ".txt"}.get(ctype)
    extension = extension or mimetypes.guess_extension(ctype) or ".bin"
    return f"part-{number}{extension}"


def _content_id(part: Message) -> str | None:
    try:
        value = part.get("Content-ID")
    except Exception:
        return None
    if not value:
        return None
    text = charsets.storable(charsets.fix_surrogates(str(value))).strip()
    match = re.search(r"<([^<>]{1,500})>", text)
    cid = match.group(1).strip() if match else text.strip("<> ")[:500]
    return cid or None


def _payload(part: Message) -> bytes:
    try:
        if part.is_multipart():
            payload = part.get_payload()
            blocks = payload if isinstance(payload, list) else []
            return b"".join(_message_bytes(block) for block in blocks if isinstance(block, Message))
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    try:
        raw = part.get_payload()
    except Exception:
        return b""
    return raw.encode("utf-8", errors="surrogateescape") if isinstance(raw, str) else b""


def _message_bytes(message: Message) -> bytes:
    try:
        return message.as_bytes(policy=_OUT_POLICY)
    except Exception:
        try:
            return str(message).encode("utf-8", errors="surrogateescape")
        except Exception:
            return b""


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_:.+-]{1,40})""", re.I)


def part_text(part: Message, data: bytes | None = None) -> str:
    """The part's text: its declared charset (or the HTML's own meta tag), with fallbacks."""
    if data is None:
        data = _payload(part)
    label = _param(part, "charset")
    if label is None and _content_type(part) == "text/html":
        meta = _META_CHARSET.search(data[:4096])
        label = meta.group(1).decode("ascii") if meta else None
    text = charsets.decode(data, label)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if (_param(part, "format") or "").lower() == "flowed":
        text = _unflow(text, delsp=(_param(part, "delsp") or "").lower() == "yes")
    return text


def _unflow(text: str, *, delsp: bool) -> str:
    """RFC 3676 format=flowed: soft line breaks (a trailing space) joined, per quote depth."""
    out: list[str] = []
    paragraph: str | None = None
    depth_of_paragraph = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):  # space-stuffing
            content = content[1:]
        if paragraph is not None and depth != depth_of_paragraph:
            out.append(">" * depth_of_paragraph + (" " if depth_of_paragraph else "") + paragraph)
            paragraph = None
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        paragraph = content if paragraph is None else paragraph + content
        depth_of_paragraph = depth
        if not flowed:
            out.append(">" * depth + (" " if depth else "") + paragraph)
            paragraph = None
    if paragraph is not None:
        out.append(">" * depth_of_paragraph + (" " if depth_of_paragraph else "") + paragraph)
    return "\n".join(out)
