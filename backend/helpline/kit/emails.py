"""E-mail address syntax, without deliverability: self-hosted helpdesks use intranet domains.

``email-validator`` (behind Pydantic's ``EmailStr``) refuses special-use and reserved domains —
``.local``, ``.test``, ``.internal``, ``.localhost``, … — whatever ``check_deliverability`` says.
By default Helpline accepts any syntactically valid address: the domain is checked for syntax
with a neutral suffix appended, so the special-use rule does not apply and every other rule
(labels, lengths, characters, IDNA) still does. ``public_only`` restores the library's rule.
"""

from __future__ import annotations

from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, WithJsonSchema

NEUTRAL_SUFFIX = ".example"  # RFC 2606: reserved for documentation, not special-use to the library


def normalize_email(value: str, *, public_only: bool = False) -> str:
    """The normalized address (domain lower-cased), or ValueError with the reason."""
    try:
        if public_only:
            return str(validate_email(value, check_deliverability=False).normalized)
        local, at, domain = value.rpartition("@")
        if not at or not domain or domain.endswith("."):
            raise ValueError("An email address must have a domain after the @-sign.")
        checked = validate_email(
            f"{local}@{domain}{NEUTRAL_SUFFIX}",
            check_deliverability=False,
            globally_deliverable=False,
        ).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc).replace(NEUTRAL_SUFFIX, "")) from None
    return str(checked)[: -len(NEUTRAL_SUFFIX)]


def _syntax_only(value: str) -> str:
    return normalize_email(value)


# A drop-in for EmailStr in request schemas: syntax only, internal domains welcome.
EmailAddress = Annotated[
    str,
    AfterValidator(_syntax_only),
    WithJsonSchema({"type": "string", "format": "email"}),
]
