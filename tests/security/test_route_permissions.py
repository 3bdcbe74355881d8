"""Every mounted route declares what it needs, and every REST route is in the OpenAPI document."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts

from helpline.app import create_app
from helpline.auth.dependencies import declared_permissions
from helpline.auth.permissions import Scope
from helpline.config import Environment, Settings

pytestmark = pytest.mark.security

# FastAPI's own documentation routes: public by design, and not part of the REST API.
FRAMEWORK_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
# GraphQL authenticates and checks scopes per operation (DESIGN §9); it is not a REST route.
GRAPHQL = "/graphql"
VALID = {s.value for s in Scope} | {"authenticated", "public", "admin"}
PUBLIC_ALLOWED = {
    "/health/live",
    "/health/ready",
    "/api/v1/auth/login",
    "/api/v1/auth/password-reset",
    # Signed per Standard Webhooks with the mailbox's own secret instead of an API key.
    "/api/v1/inbound/email/{mailbox_id}",
}


@pytest.fixture(scope="module")
def app():
    return create_app(Settings(env=Environment.test))


def mounted(app):
    for context in iter_route_contexts(app.routes):
        if context.path != GRAPHQL:
            yield context, context.path, sorted(context.methods or ())


def test_every_route_declares_its_permission(app):
    undeclared = []
    for context, path, methods in mounted(app):
        if path in FRAMEWORK_ROUTES:
            continue
        declared = declared_permissions(context._effective_route)
        if not declared or not declared <= VALID:
            undeclared.append((methods, path, declared))
        if "public" in declared:
            assert path in PUBLIC_ALLOWED or path.startswith("/health"), (path, "public?")
    assert undeclared == [], f"routes without a declared permission: {undeclared}"


def test_graphql_and_mounts_are_accounted_for(app):
    for context, path, _methods in mounted(app):
        if path in FRAMEWORK_ROUTES:
            continue
        assert context.methods, f"{path}: a mount or non-HTTP route needs an explicit decision"


def test_rest_routes_equal_openapi_paths(app):
    document = app.openapi()
    documented = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    served = {
        (path, method)
        for context, path, methods in mounted(app)
        if path not in FRAMEWORK_ROUTES
        for method in methods
        if method != "HEAD"
    }
    assert served == documented


# Take no credentials, so never answer 401 (a wrong password-reset token is 400).
PUBLIC_PATHS = {"/api/v1/auth/login", "/api/v1/auth/password-reset"}


def test_every_operation_is_documented(app):
    document = app.openapi()
    operation_ids = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary"), where
            assert op.get("description"), where
            assert re.fullmatch(r"[a-z][A-Za-z]+", op.get("operationId", "")), where
            operation_ids.append(op["operationId"])
            if path.startswith("/api/") and path not in PUBLIC_PATHS:
                assert "401" in op["responses"], where
            if path.startswith("/api/"):
                errors = [c for c in op["responses"] if c.startswith(("4", "5"))]
                assert errors, where
    assert len(operation_ids) == len(set(operation_ids))


def test_access_control_operations_are_documented_with_examples(app):
    document = app.openapi()
    for path in ("/api/v1/api-keys", "/api/v1/users", "/api/v1/auth/login"):
        post = document["paths"][path]["post"]
        schema_ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = document["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
        assert schema.get("examples"), path
        assert "422" in post["responses"]
