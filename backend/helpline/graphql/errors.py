"""Errors and the transaction boundary of one GraphQL operation.

* A domain or validation error (a :class:`helpline.errors.HelplineError`) becomes a GraphQL error
  whose ``extensions`` carry the REST problem's ``code`` (the slug), ``status`` and ``type``, plus
  ``errors[]`` and any extra members (e.g. ``current_version`` of a stale ``expectedVersion``).
* Errors in the request itself (syntax, unknown fields, bad variables, limits) get ``bad-request``.
* Anything else is a server fault: logged with its traceback and, unless ``HELPLINE_DEBUG`` is
  on, masked as ``internal-error`` without details.
* Denials (401/403, and 404s that hid an existing resource) are audited through the same path as
  REST's (:mod:`helpline.audit.access`).
* An operation with any error is rolled back (and its after-commit effects dropped); a failed
  mutation returns ``data: null`` since nothing of it was kept. A batch runs each operation in a
  savepoint so that one failing operation does not undo the others.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import structlog
from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from helpline.audit.access import record_access_failure
from helpline.errors import (
    DependencyUnavailable,
    HelplineError,
    InvalidCursorError,
    database_error,
)
from helpline.kit.cursor import InvalidCursor

if TYPE_CHECKING:
    from helpline.graphql.context import GraphQLContext

log = structlog.get_logger("helpline.graphql")
REQUEST_ERRORS = (GraphQLError, ValueError, TypeError)


def _domain_error(exc: BaseException | None) -> HelplineError | None:
    """The problem a resolver's exception maps to, as the REST error handlers would map it."""
    if isinstance(exc, HelplineError):
        return exc
    if isinstance(exc, InvalidCursor):  # from the keyset pager (kit), as REST maps it
        return InvalidCursorError(str(exc))
    if isinstance(exc, DBAPIError):
        mapped = database_error(exc)
        if mapped is None and isinstance(exc, OperationalError | InterfaceError):
            return DependencyUnavailable()
        return mapped
    if isinstance(exc, PoolTimeout | OSError):
        return DependencyUnavailable()
    return None


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    if _domain_error(original) is not None:
        return False
    return not (error.path is None and (original is None or isinstance(original, REQUEST_ERRORS)))


def format_error(error: GraphQLError, *, expose_details: bool) -> GraphQLError:
    problem = _domain_error(error.original_error)
    extensions: dict[str, Any]
    if problem is not None:
        message = problem.detail
        extensions = {"code": problem.slug, "status": problem.status, "type": problem.type_uri()}
        if problem.errors is not None:
            extensions["errors"] = problem.errors
        extensions.update(problem.extra)
    elif not is_unexpected(error):
        message = error.message
        extensions = {"code": "bad-request", "status": 400, **(error.extensions or {})}
    else:
        message = error.message if expose_details else HelplineError.title
        extensions = {"code": HelplineError.slug, "status": 500}
    # Apollo-style marker for generic clients and tools: the caller's fault or the server's.
    extensions["classification"] = (
        "BAD_USER_INPUT" if extensions["status"] < 500 else "INTERNAL_SERVER_ERROR"
    )
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=extensions,
    )


def log_unexpected(errors: list[GraphQLError], request_id: str | None) -> None:
    for error in errors:
        if is_unexpected(error):
            original = error.original_error
            log.error(
                "unhandled error in a GraphQL resolver",
                path=error.path,
                request_id=request_id,
                exc_info=(type(original), original, original.__traceback__) if original else None,
            )


class OperationBoundary(SchemaExtension):
    """Rolls a failed operation back and renders its errors as REST-equivalent problems."""

    def __init__(self, *, expose_details: bool) -> None:
        self.expose_details = expose_details

    async def on_operation(self) -> AsyncIterator[None]:
        ctx: GraphQLContext = self.execution_context.context
        savepoint = None
        kept_effects = 0
        if ctx.batched:
            async with ctx.work() as uow:
                savepoint = await uow.session.begin_nested()
                kept_effects = uow.effects_mark()
        yield
        result = self.execution_context.result
        errors: list[GraphQLError] | None = getattr(result, "errors", None)
        async with ctx.work() as uow:
            if errors:
                if savepoint is not None:
                    await savepoint.rollback()
                    uow.drop_effects(kept_effects)
                else:
                    await uow.rollback()
            elif savepoint is not None:
                await savepoint.commit()
        for error in errors or ():
            problem = _domain_error(error.original_error)
            if problem is not None:  # denials are audited as REST's are (same path)
                record_access_failure(ctx.http_request, problem)
        if result is not None and errors:
            if self._is_mutation():
                result.data = None
            result.errors = [format_error(e, expose_details=self.expose_details) for e in errors]

    def _is_mutation(self) -> bool:
        try:
            return self.execution_context.operation_type is OperationType.MUTATION
        except Exception:  # no parsable operation: nothing ran
            return False
