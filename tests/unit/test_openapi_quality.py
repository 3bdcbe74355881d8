"""The OpenAPI document is good enough to generate clients and docs from.

Operation ids become client method names and the REST reference (docs/reference/rest-api.md) is
rendered from this document, so every operation must say what it does and how it fails, and every
schema field must say what it means.

KNOWN_GAPS lists what is missing today in backend code (see the report of issue 9). It is a
ratchet, not an exemption: a new gap fails, and so does a listed gap that has been fixed (remove
it from the list), so the list can only shrink.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from helpline.app import create_app
from helpline.config import Settings

pytestmark = pytest.mark.unit

CAMEL_CASE = re.compile(r"[a-z][a-zA-Z0-9]*")

KNOWN_GAPS: dict[str, set[str]] = {
    "operations without an error response": set(),
    "undeclared tags": set(),
    "fields without a description": set(),
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(Settings(env="test")).openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", op)
        for path, ops in document["paths"].items()
        for method, op in ops.items()
    ]


def assert_ratchet(kind: str, found: set[str]) -> None:
    known = KNOWN_GAPS.get(kind, set())
    assert found - known == set(), f"new {kind}"
    assert known - found == set(), f"fixed, remove from KNOWN_GAPS[{kind!r}]"


def test_there_are_operations(document):
    assert len(operations(document)) >= 30


@pytest.mark.parametrize("field", ["summary", "description", "tags", "operationId"])
def test_every_operation_has(document, field):
    missing = [name for name, op in operations(document) if not op.get(field)]
    assert missing == []


def test_operation_ids_are_unique_camel_case(document):
    ids = [op["operationId"] for _, op in operations(document)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert [i for i in ids if not CAMEL_CASE.fullmatch(i)] == []


def test_every_operation_documents_an_error_response(document):
    found = {
        name
        for name, op in operations(document)
        if not any(status.startswith(("4", "5")) for status in op["responses"])
    }
    assert_ratchet("operations without an error response", found)


def test_error_responses_are_problem_documents_with_examples(document):
    bad = []
    for name, op in operations(document):
        for status, response in op["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            content = response.get("content", {})
            problem = content.get("application/problem+json", {})
            if not response.get("description") or not problem.get("examples"):
                bad.append(f"{name} {status}")
    assert bad == []


def test_every_parameter_has_a_description(document):
    missing = [
        f"{name} {param['name']}"
        for name, op in operations(document)
        for param in op.get("parameters", [])
        if not param.get("description")
    ]
    assert missing == []


def test_every_tag_is_declared_with_a_description(document):
    declared = {t["name"]: t.get("description") for t in document.get("tags", [])}
    assert all(declared.values()), declared
    used = {tag for _, op in operations(document) for tag in op.get("tags", [])}
    assert_ratchet("undeclared tags", used - declared.keys())


def test_every_schema_property_has_a_description(document):
    schemas = document["components"]["schemas"]
    found = {
        f"{schema_name}.{prop}"
        for schema_name, schema in schemas.items()
        for prop, spec in schema.get("properties", {}).items()
        if not spec.get("description")
    }
    described = sum(len(s.get("properties", {})) for s in schemas.values()) - len(found)
    assert described >= 150  # the ones that exist stay described
    assert_ratchet("fields without a description", found)


def problem_types(op: dict[str, Any]) -> dict[str, set[str]]:
    """The problem slugs an operation documents, by status."""
    return {
        status: set(response["content"]["application/problem+json"]["examples"])
        for status, response in op["responses"].items()
        if status.startswith(("4", "5"))
    }


# A resource's own problems (by slug prefix) belong on the operations of its paths only.
RESOURCE_PROBLEMS = {
    "ticket-": ("/tickets", "/macros/{macro_id}/apply"),  # a macro is applied to a ticket
    "team-": ("/teams",),
    "macro-": ("/macros",),
    "rule-": ("/rules",),
    "template-": ("/macros", "/rules"),  # rule notes and replies are templates too
    "metadata-": ("/metadata",),
    "user-": ("/users", "/api-keys"),  # a key's owner
    "api-key-": ("/api-keys",),
    "attachment-": ("/attachments", "/conversations"),  # messages bind uploads
    "webhook-": ("/webhooks",),
    "scope-": ("/api-keys",),
    "email-taken": ("/users",),
    "email-suppression-": ("/email-suppressions",),
    "last-admin": ("/users",),
    "invalid-credentials": ("/auth/login",),
    "password-reset-": ("/auth/password-reset",),
}


ANY_ROUTE = {"api-key-expired"}  # credentials, wherever they are presented


def test_each_operation_documents_its_own_problems_not_every_one_of_a_status(document):
    misplaced = sorted(
        f"{name}: {slug}"
        for name, op in operations(document)
        for slugs in problem_types(op).values()
        for slug in slugs
        for prefix, paths in RESOURCE_PROBLEMS.items()
        if slug.startswith(prefix) and slug not in ANY_ROUTE and not any(p in name for p in paths)
    )
    assert misplaced == []


@pytest.mark.parametrize(
    ("operation", "status", "expected"),
    [
        ("GET /api/v1/tickets/{ticket_id}", "404", {"ticket-not-found"}),
        ("GET /api/v1/tickets/{ticket_id}", "403", {"permission-denied"}),
        (
            "PATCH /api/v1/tickets/{ticket_id}",
            "409",
            {"conflict", "ticket-closed"},
        ),
        ("PATCH /api/v1/tickets/{ticket_id}", "412", {"precondition-failed"}),
        ("GET /api/v1/users/{user_id}", "404", {"user-not-found"}),
        ("POST /api/v1/webhooks", "422", {
            "validation-error", "webhook-target-refused", "idempotency-key-invalid",
            "idempotency-key-reused",
        }),
        ("POST /api/v1/api-keys", "403", {
            "permission-denied", "csrf-token-invalid", "scope-not-grantable",
        }),
        ("POST /api/v1/auth/login", "401", {"invalid-credentials"}),
        ("GET /api/v1/auth/me", "401", {"unauthenticated", "api-key-expired", "session-expired"}),
    ],
)  # fmt: skip
def test_an_operation_documents_exactly_the_problems_it_can_return(
    document, operation, status, expected
):
    ops = dict(operations(document))
    assert problem_types(ops[operation])[status] == expected


def test_no_operation_documents_a_status_it_cannot_return(document):
    ops = dict(operations(document))
    assert "409" not in ops["GET /api/v1/tickets/{ticket_id}"]["responses"]
    assert "404" not in ops["GET /api/v1/tickets"]["responses"]
    assert "403" not in ops["GET /api/v1/auth/me"]["responses"]
