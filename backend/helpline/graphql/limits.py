"""Query-cost limits, checked during validation (before any resolver runs).

* depth and aliases are counted with every fragment spread expanded — counting only the
  operation's own selections is the known bypass of Strawberry's alias limiter (an alias inside a
  fragment spread 50 times). Fragments are measured once each and the results memoized, so a
  "fragment bomb" (fragments spreading each other several times) costs linear time to measure
  while its expanded size is what gets limited.
* tokens: graphql-core's parser stops at ``MAX_TOKENS`` (``parse_options['max_tokens']``).
* batch size: at most ``MAX_BATCH`` operations per HTTP request.
* rate limit: each operation counts once against the caller's limit, a mutation once per root
  field (so ``a: createTicket … b: createTicket …`` counts twice).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import SchemaExtension

from helpline.auth.dependencies import actor_context, limit_principal

if TYPE_CHECKING:
    from helpline.graphql.context import GraphQLContext

MAX_DEPTH = 10
MAX_ALIASES = 20
MAX_TOKENS = 2_000
MAX_BATCH = 10
LIMIT_CODE = "bad-request"


@dataclass(frozen=True, slots=True)
class Cost:
    depth: int = 0
    aliases: int = 0
    root_fields: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            max(self.depth, other.depth),
            self.aliases + other.aliases,
            self.root_fields + other.root_fields,
        )


class _Measure:
    """Depth / alias / root-field count of selection sets, fragments expanded and memoized."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.memo: dict[str, Cost] = {}
        self.visiting: set[str] = set()

    def selection_set(self, node: SelectionSetNode | None) -> Cost:
        total = Cost()
        if node is None:
            return total
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                inner = self.selection_set(selection.selection_set)
                # Introspection (`__schema`, `__type`) is as deep as the standard query needs; it
                # is bounded by the token limit and switched off in production.
                depth = 0 if selection.name.value.startswith("__") else 1 + inner.depth
                total += Cost(depth, inner.aliases + (1 if selection.alias else 0), 1)
            elif isinstance(selection, InlineFragmentNode):
                total += self.selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return total

    def fragment(self, name: str) -> Cost:
        if name in self.memo:
            return self.memo[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:  # unknown / cyclic: other rules report
            return Cost()
        self.visiting.add(name)
        cost = self.selection_set(definition.selection_set)
        self.visiting.discard(name)
        self.memo[name] = cost
        return cost


def operation_cost(document: DocumentNode, operation: OperationDefinitionNode) -> Cost:
    return _Measure(document).selection_set(operation.selection_set)


def limit_error(message: str, limit: str, node: Any = None) -> GraphQLError:
    return GraphQLError(
        message, node, extensions={"code": LIMIT_CODE, "status": 400, "limit": limit}
    )


def cost_rule(max_depth: int = MAX_DEPTH, max_aliases: int = MAX_ALIASES) -> type[ValidationRule]:
    """A validation rule rejecting operations deeper or with more aliases than allowed."""

    class QueryCostRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            measure = _Measure(context.document)
            for definition in context.document.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                cost = measure.selection_set(definition.selection_set)
                if cost.depth > max_depth:
                    context.report_error(
                        limit_error(
                            f"The operation is {cost.depth} levels deep; at most {max_depth}.",
                            "depth",
                            definition,
                        )
                    )
                if cost.aliases > max_aliases:
                    context.report_error(
                        limit_error(
                            f"The operation uses {cost.aliases} aliases (fragments expanded); "
                            f"at most {max_aliases}.",
                            "aliases",
                            definition,
                        )
                    )

    return QueryCostRule


class RateLimitOperations(SchemaExtension):
    """Count each operation (a mutation once per root field) against the caller's rate limit.

    The HTTP request already counted once when the principal was resolved (as for REST); this
    charges the rest: the further operations of a batch and the extra root fields of a mutation.
    """

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        ctx: GraphQLContext = execution.context
        document = execution.graphql_document
        operation = _selected_operation(document, execution.operation_name)
        if document is not None and operation is not None:
            units = 1
            if operation.operation is OperationType.MUTATION:
                units = max(1, operation_cost(document, operation).root_fields)
            extra = units - 1 if ctx.charge_first_operation() else units
            for _ in range(extra):
                await limit_principal(ctx.http_request, ctx.principal)
            if operation.operation is OperationType.MUTATION:  # the triggers need the actor
                await ctx.uow.act_as(actor_context(ctx.uow, ctx.principal))
        yield


def _selected_operation(
    document: DocumentNode | None, name: str | None
) -> OperationDefinitionNode | None:
    if document is None:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)
