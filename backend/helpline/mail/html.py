"""HTML mail bodies: sanitized for display (nh3) and turned into plain text when a mail has no
text part. The text keeps the structure quote trimming needs: a ``<blockquote>`` becomes ``> ``
lines, so a reply written in HTML is trimmed like one written in text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

# Inline images are referenced as cid:…; the web interface rewrites them to attachment URLs.
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
_ALLOWED_TAGS = set(nh3.ALLOWED_TAGS) | {"font", "center"}
_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()} | {
    "*": {"dir", "lang", "title", "align"},
    "font": {"color", "face", "size"},
    "img": {"src", "alt", "width", "height", "title"},
    "td": {"colspan", "rowspan", "align", "valign", "width"},
    "th": {"colspan", "rowspan", "align", "valign", "width"},
    "table": {"width", "border", "cellpadding", "cellspacing", "summary"},
}
_DROP_WITH_CONTENT = {"script", "style", "title", "head", "template", "noscript"}


# html5ever (behind nh3) is quadratic in the depth of open elements: 100,000 nested <div>s take
# minutes. Mail never nests this deep; such HTML is dropped (the text is still derived from it).
MAX_DEPTH = 400
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]{0,20})\b[^<>]*?(/?)>")  # [^<>]: linear
_VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
}  # fmt: skip
_AUTO_CLOSED = {"p", "li", "dt", "dd", "tr", "td", "th", "option", "thead", "tbody", "tfoot"}


MAX_HTML = 2_000_000  # characters given to the sanitizer
MAX_AMPERSANDS = 50_000  # html5ever is quadratic in the character references of one text node


def too_hostile(html: str) -> str | None:
    """Why ``html`` must not be given to the sanitizer (the defect name), or None."""
    if len(html) > MAX_HTML:
        return "html_too_large"
    if html.count("&") > MAX_AMPERSANDS:
        return "html_too_many_entities"
    if too_deep(html):
        return "html_too_deep"
    return None


def too_deep(html: str, limit: int = MAX_DEPTH) -> bool:
    """Whether ``html`` opens more than ``limit`` elements without closing them (linear scan)."""
    depth = 0
    for match in _TAG.finditer(html):
        closing, name, self_closing = match.groups()
        name = name.lower()
        if name in _VOID or name in _AUTO_CLOSED or self_closing:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        if depth > limit:
            return True
    return False


def sanitize_html(html: str) -> str:
    """Display-safe HTML: no scripts, event handlers, forms, frames or remote style sheets."""
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS - _DROP_WITH_CONTENT,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


_BLOCK = {
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul", "center",
}  # fmt: skip
_SKIP = {"script", "style", "head", "title", "template", "noscript"}


class _TextWriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []  # (quote depth, text)
        self.current: list[str] = []
        self.quote = 0
        self.pre = 0
        self.skip = 0
        self.links: list[str | None] = []
        self.link_text: list[str] = []

    def flush(self) -> None:
        text = "".join(self.current)
        self.current = []
        if not self.pre:
            text = " ".join(text.split())
        self.lines.append((self.quote, text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
            return
        if tag == "br":
            self.flush()
        elif tag in _BLOCK:
            if self.current:
                self.flush()
            if tag == "blockquote":
                self.quote += 1
            elif tag == "pre":
                self.pre += 1
            elif tag == "li":
                self.current.append("- ")
            elif tag == "hr":
                self.lines.append((self.quote, "-" * 32))
        elif tag == "td" or tag == "th":
            self.current.append(" ")
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))
            self.link_text.append("")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.current.append(f" {alt} ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if tag in _BLOCK:
            if self.current:
                self.flush()
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            elif tag == "pre":
                self.pre = max(0, self.pre - 1)
            elif tag in {"p", "div", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"}:
                self.lines.append((self.quote, ""))
        elif tag == "a" and self.links:
            href = self.links.pop()
            text = self.link_text.pop().strip()
            if href and href.startswith(("http://", "https://")) and href != text and text:
                self.current.append(f" <{href}>")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        self.current.append(data)
        if self.link_text:
            self.link_text[-1] += data

    def text(self) -> str:
        if self.current:
            self.flush()
        out: list[str] = []
        for depth, line in self.lines:
            prefix = "> " * depth
            out.append((prefix + line).rstrip() if line or depth else "")
        text = "\n".join(out)
        return _BLANK_RUNS.sub("\n\n", text).strip()


_BLANK_RUNS = re.compile(r"\n(?:[ \t>]*\n){2,}")


def html_to_text(html: str) -> str:
    """Readable plain text for an HTML body: paragraphs, line breaks, lists, quotes, link URLs.

    Give it ``sanitize_html``'s output: the standard library's parser is quadratic on
    unterminated constructs (``<!--`` repeated), which the sanitizer never emits.
    """
    writer = _TextWriter()
    try:
        writer.feed(html)
        writer.close()
    except (AssertionError, ValueError, RecursionError):  # malformed markup: keep what was read
        pass
    return writer.text()


_ANY_TAG = re.compile(r"<[^<>]*>")


def crude_text(html: str) -> str:
    """Text of HTML too hostile to parse: tags removed, entities decoded (linear time)."""
    import html as html_module

    text = html_module.unescape(_ANY_TAG.sub(" ", html))
    return "\n".join(" ".join(line.split()) for line in text.splitlines()).strip()
