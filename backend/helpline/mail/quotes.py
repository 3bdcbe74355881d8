"""The part of a mail body a person wrote this time: quoted history and signature trimmed.

The reply headers of the common clients in several languages ("On … wrote:", "Am … schrieb:",
Outlook's "From:/Sent:" block, "-----Original Message-----") come from ``mail-parser-reply``.
Its own signature rule cuts at any line starting with "Thanks," or "- " (eating lists and real
sentences), so a narrower one is used: the RFC 3676 delimiter, "Sent from my …" lines, and a
sign-off only when it stands alone near the end. The full body always stays in ``text``.
"""

from __future__ import annotations

import re

from mailparser_reply.parser import EmailMessage

LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "sv", "da", "pl", "cs", "ja", "ko", "zh"]
# Trimming looks at the head of a long body only: what a person typed this time is at the top,
# and the library's header patterns backtrack (super-linearly per line): with the window and
# the long-line parking below, a crafted body costs well under a second, a normal one ~1 ms.
TRIM_WINDOW = 20_000
MAX_LINE = 200  # longer lines are never reply headers (see display_text)
_LONG_LINE = re.compile(rf"^[^\n]{{{MAX_LINE + 1},}}$", re.MULTILINE)
_PARKED = re.compile(r"hlparkedline\d+x")

_SIGN_OFFS = (
    "best regards|kind regards|warm regards|regards|best wishes|many thanks|thanks|thank you|"
    "thanks again|cheers|best|all the best|sincerely|yours sincerely|yours truly|"
    "mit freundlichen grüßen|mit freundlichen grüssen|freundliche grüße|viele grüße|beste grüße|"
    "liebe grüße|herzliche grüße|lg|vg|mfg|gruß|grüße|danke|vielen dank|"
    "cordialement|bien cordialement|bien à vous|salutations|merci|"
    "saludos|un saludo|saludos cordiales|atentamente|gracias|"
    "cordiali saluti|distinti saluti|saluti|grazie|"
    "met vriendelijke groet|vriendelijke groet|groeten|bedankt|"
    "med vänliga hälsningar|vänliga hälsningar|hälsningar|mvh|tack|"
    "med venlig hilsen|venlig hilsen|hilsen|pozdrawiam|z poważaniem|s pozdravem|děkuji"
)
_SENT_FROM = (
    r"sent from my\b|sent from outlook\b|get outlook for\b|sent from mail for\b|sent from yahoo\b|"
    r"von meinem .{1,40} gesendet|gesendet von\b|envoyé de mon\b|envoyé depuis\b|"
    r"enviado desde mi\b|inviato da\b|verzonden vanaf mijn\b|skickat från min\b|sendt fra min\b"
)
SIGNATURE = re.compile(
    r"^(?:"
    r"-- ?$"  # RFC 3676 signature delimiter (lines arrive stripped: "-- " may be "--")
    rf"|(?:{_SENT_FROM}).*$"
    # a sign-off alone on its line, not the first one, followed by at most a blank line and
    # four short lines (name, title, company, phone) up to the end of the fragment
    rf"|(?<!\A)(?:{_SIGN_OFFS})[ \t,.!]*"
    r"(?:\n\n?(?:[^\n]{1,60}\n){0,3}[^\n]{0,60})?\s*\Z"
    r")[\s\S]*",
    re.MULTILINE | re.IGNORECASE,
)


def display_text(text: str, *, forwarded: bool = False) -> str:
    """``text`` without quoted history and signature; the whole text when nothing is left.

    A forwarded mail keeps the forwarded content: that is usually what the sender wants read.
    """
    full = text.strip()
    if not full or forwarded:
        return full
    head = full[:TRIM_WINDOW]
    # The library's header patterns backtrack badly on long lines ("Am Am Am …" takes minutes
    # at 90 kB): long lines go in as placeholders — a reply header is never that long — and
    # come back in the result.
    long_lines: dict[str, str] = {}

    def park(match: re.Match[str]) -> str:
        key = f"hlparkedline{len(long_lines)}x"
        long_lines[key] = match.group(0).strip()  # the library strips lines too
        return key

    head = _LONG_LINE.sub(park, head)
    try:
        message = EmailMessage(
            text=head,
            languages=list(LANGUAGES),
            keep_hyphen_lists=True,
            _signature_regex=SIGNATURE,
        ).read()
        reply = message.replies[0].body if message.replies else ""
    except (re.error, RecursionError, IndexError, ValueError):
        return full
    reply = reply.strip()
    if not reply:
        return full
    if long_lines:
        reply = _PARKED.sub(lambda m: long_lines.get(m.group(0), m.group(0)), reply)
        head = _PARKED.sub(lambda m: long_lines.get(m.group(0), m.group(0)), head)
    if len(full) > TRIM_WINDOW and len(reply) >= len(head.strip()) - 1:
        return full  # nothing trimmed in the window: the rest may still be the person's text
    return reply
