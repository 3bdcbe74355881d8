"""The `/graphql` route: Strawberry's FastAPI router with Helpline's context and rules.

POST only (no queries over GET: no cross-site reads with a session cookie — any other method is
405 ``method-not-allowed`` with ``Allow: POST``), no IDE, no subscriptions. A batch (a JSON list
of operations, at most ``MAX_BATCH``) runs its operations one after another in the request's one
session, each in its own savepoint.
"""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException
from fastapi import Request
from strawberry.fastapi import GraphQLRouter

from helpline.config import Settings
from helpline.db import UnitOfWorkRoute
from helpline.errors import (
    BadRequest,
    HelplineError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from helpline.graphql.context import GraphQLContext, get_context
from helpline.graphql.schema import build_schema


class HelplineGraphQLRouter(GraphQLRouter[GraphQLContext, None]):
    async def execute_operation(
        self,
        request: Request,
        request_adapter: Any,
        request_data: Any,
        context: GraphQLContext,
        root_value: None,
        sub_response: Any,
    ) -> Any:
        if not isinstance(request_data, list):
            return await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )
        context.batched = True
        # Strawberry gathers a batch concurrently; one session takes one statement at a time.
        return [
            await self.execute_single(
                request=request,
                request_adapter=request_adapter,
                sub_response=sub_response,
                context=context,
                root_value=root_value,
                request_data=data,
            )
            for data in request_data
        ]

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        """Malformed HTTP-level requests become the same problem+json as REST's, with the type
        the catalogue gives their status; anything but POST is 405 (Allow: POST)."""
        if request.method != "POST":
            raise MethodNotAllowed("GraphQL is served over POST only.", headers={"Allow": "POST"})
        try:
            return await super().run(request=request, context=context, root_value=root_value)
        except HTTPException as exc:
            problem = _BY_STATUS.get(exc.status_code, BadRequest)
            raise problem(exc.reason) from None


# Strawberry's own HTTP errors, by status (all 400 today; the others for safety).
_BY_STATUS: dict[int, type[HelplineError]] = {
    400: BadRequest,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
}


def graphql_router(settings: Settings) -> HelplineGraphQLRouter:
    """The router to mount at the application root (serves ``/graphql``)."""
    return HelplineGraphQLRouter(
        build_schema(settings),
        path="/graphql",
        graphql_ide=None,
        allow_queries_via_get=False,
        context_getter=get_context,
        route_class=UnitOfWorkRoute,
        subscription_protocols=(),
        tags=["graphql"],
        include_in_schema=False,
    )
