"""Schema assembly: the per-domain query and mutation types merged into one schema."""

from __future__ import annotations

from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from helpline.config import Environment, Settings
from helpline.graphql.audit import AuditQuery
from helpline.graphql.automation import AutomationMutation, AutomationQuery
from helpline.graphql.errors import OperationBoundary, log_unexpected
from helpline.graphql.events import EventsQuery
from helpline.graphql.limits import MAX_BATCH, MAX_TOKENS, RateLimitOperations, cost_rule
from helpline.graphql.mail import MailMutation, MailQuery
from helpline.graphql.report import ReportQuery
from helpline.graphql.sla import SlaMutation
from helpline.graphql.ticket import TicketMutation, TicketQuery
from helpline.graphql.user import UserMutation, UserQuery
from helpline.graphql.view import ViewMutation, ViewQuery
from helpline.graphql.webhook import WebhookMutation, WebhookQuery

Query = merge_types(
    "Query",
    (
        TicketQuery,
        UserQuery,
        AuditQuery,
        EventsQuery,
        WebhookQuery,
        MailQuery,
        ReportQuery,
        AutomationQuery,
        ViewQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        TicketMutation,
        UserMutation,
        WebhookMutation,
        MailMutation,
        AutomationMutation,
        ViewMutation,
        SlaMutation,
    ),
)


class HelplineSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log server faults only; client errors are answers, not incidents."""
        context = getattr(execution_context, "context", None)
        request = getattr(context, "http_request", None)
        log_unexpected(errors, getattr(getattr(request, "state", None), "request_id", None))


def locked_down(settings: Settings) -> bool:
    """Introspection and field suggestions are off in staging and production."""
    return settings.env in (Environment.staging, Environment.production)


def build_schema(settings: Settings) -> strawberry.Schema:
    extensions: list[Any] = [
        partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        partial(AddValidationRules, [cost_rule()]),
        partial(OperationBoundary, expose_details=settings.debug),
        RateLimitOperations,
    ]
    if locked_down(settings):
        extensions.append(DisableIntrospection)
    return HelplineSchema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(
            disable_field_suggestions=locked_down(settings),
            batching_config={"max_operations": MAX_BATCH},
        ),
        extensions=extensions,
    )


def sdl(settings: Settings | None = None) -> str:
    """The schema in SDL (what docs/reference/graphql.graphql holds)."""
    schema = build_schema(settings or Settings(env=Environment.test))
    return schema.as_str() + "\n"


__all__ = ["SchemaExtension", "build_schema", "sdl"]
