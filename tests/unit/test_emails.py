"""E-mail syntax without deliverability: intranet domains are fine unless the setting says not."""

from __future__ import annotations

import pytest

from helpline.kit.emails import normalize_email

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("given", "normalized"),
    [
        ("admin@helpdesk.local", "admin@helpdesk.local"),
        ("x@HELPDESK.Test", "x@helpdesk.test"),
        ("ops@corp.internal", "ops@corp.internal"),
        ("Dana@Example.COM", "Dana@example.com"),
        ("a@intranet", "a@intranet"),
        ("a@münchen.local", "a@münchen.local"),
    ],
)
def test_syntactically_valid_addresses_are_accepted(given: str, normalized: str) -> None:
    assert normalize_email(given) == normalized


@pytest.mark.parametrize(
    "bad", ["no-at", "a@", "@x.local", "a@b..c", "a b@c.local", "a@-x.local", "a@x.local."]
)
def test_syntax_errors_are_refused_without_the_helper_suffix(bad: str) -> None:
    with pytest.raises(ValueError, match=r"^(?!.*\.example)"):
        normalize_email(bad)


def test_public_only_refuses_special_use_domains() -> None:
    with pytest.raises(ValueError, match="special-use"):
        normalize_email("admin@helpdesk.local", public_only=True)
    assert normalize_email("admin@example.com", public_only=True) == "admin@example.com"
